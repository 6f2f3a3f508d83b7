import type { Command } from "commander";
import { ConfigError, TopologyRunner } from "../../streams/index.js";
import { dispatcherTopology } from "../cluster/cluster-topology.js";
import { runCommand, withRuntime } from "../command-context.js";
import { addMetricsOptions, type MetricsFlags, withMetricsServer } from "../metrics-server.js";
import { IngressServer } from "../serve/ingress-server.js";
import { intArg } from "./demo.js";

interface ServeFlags extends MetricsFlags {
  port?: number;
  host?: string;
  dispatch?: string[];
}

export function registerServe(program: Command): void {
  const serve = program
    .command("serve")
    .description(
      "HTTP ingress: POST telemetry and log events and reasoning jobs (API key required), follow each job over server-sent events",
    )
    .option("--port <n>", "TCP port (default 8088, or serve.port)", intArg(0, 65_535))
    .option("--host <address>", "interface to listen on (default 127.0.0.1, or serve.host)")
    .option(
      "--dispatch <tiers>",
      "also run the worker dispatcher of these tiers (comma-separated), so their jobs go to `spikemesh worker` processes",
      (value: string) =>
        value
          .split(",")
          .map((t) => t.trim())
          .filter((t) => t !== ""),
    );
  addMetricsOptions(serve)
    .addHelpText(
      "after",
      `
API keys come from serve.apiKeys in the configuration or SPIKEMESH_SERVE__API_KEYS=key1,key2 (16+ characters each).

Examples:
  SPIKEMESH_SERVE__API_KEYS=$(openssl rand -hex 24) spikemesh serve --port 8088 --dispatch deepseek
  curl -H "Authorization: Bearer $KEY" -d '{"ts":"2026-11-23T10:00:00Z","source":"web-1","metric":"cpu.util","value":97}' localhost:8088/events/telemetry
  curl -H "Authorization: Bearer $KEY" -d '{"tier":"deepseek","prompt":"why is web-1 slow?","requires":{"gpu":true}}' localhost:8088/jobs
  curl -N -H "Authorization: Bearer $KEY" localhost:8088/jobs/<jobId>/events`,
    )
    .action(async (flags: ServeFlags, command: Command) => {
      await runCommand(command, async (ctx) => {
        const cfg = ctx.config.serve;
        if (cfg.apiKeys.length === 0) {
          throw new ConfigError([
            "serve.apiKeys: at least one API key is required (SPIKEMESH_SERVE__API_KEYS=key1,key2, 16+ characters each)",
          ]);
        }
        const dispatch = flags.dispatch ?? cfg.dispatch;
        const unknown = dispatch.filter((t) => !cfg.tiers.includes(t));
        if (unknown.length > 0) {
          throw new ConfigError([
            `--dispatch: ${unknown.join(", ")} not in serve.tiers (${cfg.tiers.join(", ")})`,
          ]);
        }
        return withRuntime(ctx, (runtime) =>
          withMetricsServer(flags, ctx.log, async (metrics) => {
            const dispatcher =
              dispatch.length === 0
                ? undefined
                : new TopologyRunner(
                    dispatcherTopology({
                      appId: ctx.config.appId,
                      partitions: ctx.config.runner.partitions,
                      tiers: dispatch.map((tier) => ({ tier, options: ctx.config.worker.dispatcher })),
                    }),
                    {
                      transport: runtime.transport,
                      codec: runtime.codec,
                      logger: ctx.log,
                      metrics,
                      seed: ctx.config.runner.seed,
                      guarantee: ctx.config.runner.guarantee,
                    },
                  );
            const server = new IngressServer({
              transport: runtime.transport,
              codec: runtime.codec,
              log: ctx.log.child({ component: "serve" }),
              metrics,
              apiKeys: cfg.apiKeys,
              tiers: cfg.tiers,
              partitions: ctx.config.runner.partitions,
              maxBodyBytes: cfg.maxBodyBytes,
              jobTimeoutMs: cfg.jobTimeoutMs,
              maxJobs: cfg.maxJobs,
              port: flags.port ?? cfg.port,
              host: flags.host ?? cfg.host,
            });
            const stopped = new Promise<void>((resolve) =>
              ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
            );
            try {
              await dispatcher?.start();
              const url = await server.start();
              process.stdout.write(
                `serving on ${url} (events: POST /events/telemetry|logs; jobs: POST /jobs, GET /jobs/<id>/events)${dispatch.length > 0 ? `; dispatching ${dispatch.join(", ")}` : ""}\n`,
              );
              await (dispatcher ? Promise.race([stopped, dispatcher.crashed]) : stopped);
            } finally {
              await server.close();
              await dispatcher?.stop();
            }
            return 0;
          }),
        );
      });
    });
}
