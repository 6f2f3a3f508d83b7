import type { Command } from "commander";
import { requireKeysOffLoopback } from "../../streams/http/api-keys.js";
import { runCommand, UsageError, withRuntime } from "../command-context.js";
import { FeedbackServer } from "../feedback/feedback-server.js";
import { publishLabelledFeedback } from "../feedback/labelled-replay.js";
import { isJudgement, JUDGEMENTS, operatorFeedback } from "../feedback/operator-feedback.js";
import { publishFeedback, RESULTS_TOPIC, ResultIndex } from "../feedback/result-index.js";
import { readLabels } from "../labels.js";
import { intArg } from "./demo.js";

interface FeedbackFlags {
  serve: boolean;
  port: number;
  host: string;
  url?: string;
  labels?: string;
  dryRun: boolean;
}

export function registerFeedback(program: Command): void {
  program
    .command("feedback")
    .description(
      "Tell the router's learner whether an escalation was useful: publishes a Feedback for a request's result",
    )
    .argument("[requestId]", "id of the ReasoningRequest (the `id` of its result on reasoning.results)")
    .argument("[judgement]", `${JUDGEMENTS.join(" or ")}`)
    .option("--serve", "serve POST /feedback over HTTP instead (Ctrl-C stops)", false)
    .option("--port <n>", "with --serve: TCP port", intArg(0, 65_535), 8090)
    .option("--host <address>", "with --serve: interface to listen on", "127.0.0.1")
    .option(
      "--url <url>",
      "send the judgement to a running feedback endpoint (e.g. http://127.0.0.1:8090) instead",
    )
    .option(
      "--labels <file>",
      "a labelled replay: judge every answered request on escalations.* against these labelled windows (JSON list of {name, sources, metric?, startMs, endMs}) and publish the Feedback",
    )
    .option("--dry-run", "with --labels: count the judgements, publish nothing", false)
    .addHelpText(
      "after",
      '\nExamples:\n  spikemesh feedback 3f2a...e1 useful\n  spikemesh feedback --serve --port 8090\n  curl -X POST localhost:8090/feedback -d \'{"requestId":"3f2a...e1","judgement":"wrong"}\'\n  spikemesh feedback --labels incidents.json   # after replaying a labelled recording through the mesh\nWith feedback.apiKeys set (SPIKEMESH_FEEDBACK__API_KEYS=k1,k2), POST /feedback needs one (Authorization: Bearer <key>; --url sends the first);\nlistening beyond 127.0.0.1 requires one.\nuseful strengthens the request\'s route (more so the faster it was answered); wrong weakens it a little.',
    )
    .action(
      async (
        requestId: string | undefined,
        judgement: string | undefined,
        flags: FeedbackFlags,
        command: Command,
      ) => {
        await runCommand(command, async (ctx) => {
          if (flags.labels !== undefined) {
            if (requestId !== undefined || flags.serve)
              throw new UsageError("--labels takes no requestId, judgement or --serve");
            const labels = readLabels(flags.labels);
            return withRuntime(ctx, async (runtime) => {
              const report = await publishLabelledFeedback(runtime, labels, {
                log: ctx.log,
                signal: ctx.signal,
                nowMs: Date.now(),
                dryRun: flags.dryRun,
              });
              if (report.results === 0)
                throw new UsageError(
                  `no results on ${RESULTS_TOPIC} to judge: replay the recording through the mesh first`,
                );
              process.stdout.write(`${JSON.stringify(report)}\n`);
              return 0;
            });
          }
          if (flags.serve) {
            if (requestId !== undefined) throw new UsageError("--serve takes no requestId or judgement");
            const apiKeys = ctx.config.feedback.apiKeys;
            requireKeysOffLoopback(flags.host, apiKeys, "feedback.apiKeys");
            return withRuntime(ctx, async (runtime) => {
              const server = new FeedbackServer({
                runtime,
                log: ctx.log,
                port: flags.port,
                host: flags.host,
                apiKeys,
              });
              try {
                const url = await server.start(ctx.signal);
                process.stdout.write(`feedback endpoint on ${url}/feedback\n`);
                await new Promise<void>((resolve) =>
                  ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
                );
              } finally {
                await server.close();
              }
              return 0;
            });
          }
          if (requestId === undefined || judgement === undefined) {
            throw new UsageError(`give a requestId and a judgement (${JUDGEMENTS.join(" or ")}), or --serve`);
          }
          const verdict = judgement.toLowerCase();
          if (!isJudgement(verdict))
            throw new UsageError(`judgement must be ${JUDGEMENTS.join(" or ")}, got "${judgement}"`);
          if (flags.url !== undefined)
            return postTo(flags.url, requestId, verdict, ctx.config.feedback.apiKeys[0]);
          return withRuntime(ctx, async (runtime) => {
            const index = new ResultIndex(runtime, ctx.log);
            try {
              if (!(await index.catchUp(ctx.signal))) {
                throw new UsageError("no results yet: topic reasoning.results does not exist");
              }
              const result = index.get(requestId);
              if (!result) {
                throw new UsageError(
                  `no result for request ${requestId} on reasoning.results (${index.read} read)`,
                );
              }
              const feedback = operatorFeedback(result, verdict, Date.now());
              await publishFeedback(runtime, feedback);
              process.stdout.write(`${JSON.stringify(feedback)}\n`);
              return 0;
            } finally {
              await index.close();
            }
          });
        });
      },
    );
}

async function postTo(
  url: string,
  requestId: string,
  judgement: string,
  apiKey: string | undefined,
): Promise<number> {
  const endpoint = new URL("feedback", url.endsWith("/") ? url : `${url}/`).href;
  const res = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
    },
    body: JSON.stringify({ requestId, judgement }),
  });
  const text = await res.text();
  if (res.status === 202) {
    process.stdout.write(`${JSON.stringify((JSON.parse(text) as { feedback: unknown }).feedback)}\n`);
    return 0;
  }
  throw new UsageError(`${endpoint} answered ${res.status}: ${text}`);
}
