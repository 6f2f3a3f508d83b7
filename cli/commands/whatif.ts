import { existsSync, writeFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { runCommand, UsageError } from "../command-context.js";
import { loadConfig } from "../config.js";
import { readLabels } from "../labels.js";
import { progressBar, statusLine } from "../progress.js";
import { formatWhatIf, type WhatIfAnswers, type WhatIfPrices, type WhatIfRun, whatIfRun } from "../whatif.js";

interface WhatIfFlags {
  a: string;
  b: string;
  labels?: string;
  price: WhatIfPrices;
  json?: string;
  answers: string;
}

export function registerWhatIf(program: Command): void {
  program
    .command("whatif")
    .description(
      "Run two configurations over one recording at full speed (embedded runtime) and compare them side by side",
    )
    .argument("<file>", "recording (.smrec) holding telemetry.raw")
    .requiredOption("--a <config>", "configuration A (spikemesh.yaml format; its `nodes` options apply)")
    .requiredOption("--b <config>", "configuration B")
    .option(
      "--labels <file>",
      "JSON list of labelled windows {name, sources, metric?, startMs, endMs} to score caught/missed",
    )
    .option(
      "--price <tier=perK>",
      "price per 1000 tokens for a tier, e.g. deepseek=0.002 (repeatable)",
      priceArg,
      {},
    )
    .option(
      "--answers <source>",
      "what answers the model tiers: config (the backends the configurations name), rules, recorded (results in <file>), or another recording's path",
      "config",
    )
    .option("--json <file>", "also write both runs as JSON")
    .addHelpText(
      "after",
      "\nModel tiers answer with the backends the configurations name (the rules stand-in by default), or with --answers.\nRecorded answers match by request id, else by case (same source and first spike); the rules heuristic answers the rest.\nToken counts are estimates: ceil(request context characters / 4) in, plus the result's reported tokens (64 when it reports none) out.",
    )
    .action(async (file: string, flags: WhatIfFlags, command: Command) => {
      await runCommand(command, async () => {
        if (!existsSync(file)) throw new UsageError(`recording not found: ${file}`);
        const configA = loadConfig({ file: flags.a, env: {} });
        const configB = loadConfig({ file: flags.b, env: {} });
        const labels = flags.labels ? readLabels(flags.labels) : undefined;
        const answers = answersArg(flags.answers, file);
        const options = { ...(labels ? { labels } : {}), prices: flags.price, answers };
        // Each run replays the recording (a bar by the share of the file read), then processes
        // until everything has settled (elapsed time only: its length is not known in advance).
        const progress = statusLine();
        const timed = async (
          n: number,
          config: string,
          run: (onReplay: (f: number) => void) => Promise<WhatIfRun>,
        ) => {
          const started = Date.now();
          let replayed = 0;
          const show = () => {
            const phase = replayed < 1 ? `replaying ${Math.floor(replayed * 100)}%` : "processing";
            const text = `whatif: run ${n}/2 (${config}) ${phase} · ${((Date.now() - started) / 1000).toFixed(0)} s`;
            progress.show(process.stderr.isTTY ? `${progressBar(n - 1 + replayed / 2, 2)} ${text}` : text);
          };
          show();
          const timer = setInterval(show, 250);
          try {
            return await run((f) => {
              replayed = f;
            });
          } finally {
            clearInterval(timer);
          }
        };
        const a = await timed(1, flags.a, (onReplayProgress) =>
          whatIfRun(file, "a", configA, { ...options, onReplayProgress }),
        );
        const b = await timed(2, flags.b, (onReplayProgress) =>
          whatIfRun(file, "b", configB, { ...options, onReplayProgress }),
        );
        progress.done();
        a.label = flags.a;
        b.label = flags.b;
        process.stdout.write(`${a.events} events from ${file}\n${formatWhatIf(a, b)}`);
        if (flags.json) writeFileSync(flags.json, `${JSON.stringify({ file, a, b }, null, 2)}\n`);
        return 0;
      });
    });
}

function answersArg(value: string, file: string): WhatIfAnswers {
  if (value === "config" || value === "rules") return { kind: value };
  const recording = value === "recorded" ? file : value;
  if (!existsSync(recording))
    throw new UsageError(
      `--answers: expected config, rules, recorded or a recording's path; not found: ${value}`,
    );
  return { kind: "recorded", file: recording };
}

function priceArg(value: string, previous: WhatIfPrices): WhatIfPrices {
  const [tier, price] = value.split("=");
  const n = Number(price);
  if (!tier || !(n >= 0)) throw new InvalidArgumentError(`expected tier=price, got "${value}"`);
  return { ...previous, [tier]: n };
}
