import type { Command } from "commander";
import { snnFilterOptions } from "../../processors/snn-filter/index.js";
import { runCommand, UsageError } from "../command-context.js";
import { DETECTOR_NAME } from "../nab/results-file.js";
import { type NabReport, runNab } from "../nab/run-nab.js";
import { progressBar, statusLine } from "../progress.js";

interface NabFlags {
  data: string;
  out: string;
  detector: string;
  windows?: string;
  profiles?: string;
  set: string[];
  json: boolean;
}

export function registerNab(program: Command): void {
  program
    .command("nab")
    .description(
      "Run the SNN filter over a NAB-format corpus (<data>/<category>/<file>.csv, columns timestamp,value) online, write NAB results files and print the NAB score per profile",
    )
    .requiredOption("--data <dir>", "NAB data directory (<category>/<file>.csv)")
    .requiredOption("--out <dir>", "results root: writes <out>/<detector>/<category>/<detector>_<file>.csv")
    .option("--detector <name>", "detector name in the results layout (letters and digits)", "spikemesh")
    .option(
      "--windows <file>",
      "label windows (NAB's combined_windows.json); default: combined_windows.json beside <data> or in labels/ beside it",
    )
    .option("--profiles <file>", "NAB's profiles.json; default: beside <data>, else NAB's three profiles")
    .option(
      "--set <key=value>",
      "override one SNN filter option (value as JSON), e.g. --set thresholdJump=2; repeatable",
      collect,
      [],
    )
    .option("--json", "print the report as JSON on stdout", false)
    .addHelpText(
      "after",
      "\nNo labels are read while the filter runs; the windows are used only to write the label column and to score.\nNAB's own scorer can score the written results: copy <out>/<detector> into NAB's results/ directory.",
    )
    .action(async (flags: NabFlags, command: Command) => {
      await runCommand(command, async () => {
        if (!DETECTOR_NAME.test(flags.detector)) {
          throw new UsageError(`--detector ${flags.detector}: letters and digits only (NAB splits on "_")`);
        }
        const filterOptions = parseSets(flags.set);
        const progress = statusLine();
        const report = runNab({
          dataDir: flags.data,
          outDir: flags.out,
          detector: flags.detector,
          ...(flags.windows === undefined ? {} : { windowsPath: flags.windows }),
          ...(flags.profiles === undefined ? {} : { profilesPath: flags.profiles }),
          filterOptions,
          onProgress: (done, total, file) => {
            const bar = process.stderr.isTTY ? `${progressBar(done, total)} ` : "";
            progress.show(`${bar}nab: ${done}/${total} files · ${file}`);
          },
        });
        progress.done();
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
        return 0;
      });
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseSets(sets: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set ${s}: expected key=value`);
    const key = s.slice(0, eq);
    const raw = s.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a bare string
    }
    out[key] = value;
  }
  const checked = snnFilterOptions.partial().safeParse(out);
  if (!checked.success) {
    const problems = checked.error.issues.map((i) => `--set ${i.path.join(".")}: ${i.message}`);
    throw new UsageError(problems.join("; "));
  }
  return out;
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);

/** The human-readable report: run figures, then one line per profile. */
export function formatReport(r: NabReport): string {
  const lines = [
    `spikemesh nab: ${r.files} files, ${r.records.toLocaleString("en-US")} records, ${r.spikes.toLocaleString("en-US")} spikes ` +
      `(${fmt((r.spikes * 10_000) / Math.max(1, r.records))} per 10k events); filter ${Math.round(r.eventsPerSec).toLocaleString("en-US")} events/s`,
    `results: ${r.outDir}/${r.detector}/<category>/${r.detector}_<file>.csv`,
  ];
  const rejected = Object.entries(r.rejected).map(([k, v]) => `${v} ${k}`);
  if (rejected.length > 0 || r.duplicates > 0) {
    lines.push(`input rules: ${[...rejected, `${r.duplicates} duplicate`].join(", ")} (scored 0)`);
  }
  if (r.windowsPath === null) {
    lines.push("no combined_windows.json found (--windows): results written, not scored");
    return `${lines.join("\n")}\n`;
  }
  lines.push(`windows: ${r.windowsPath}`, "");
  lines.push(
    "| profile | NAB score | threshold | raw | null | perfect | detections per 10k | windows caught |",
  );
  lines.push("|:--|--:|--:|--:|--:|--:|--:|--:|");
  for (const p of r.profiles) {
    const s = p.suppression;
    lines.push(
      `| ${p.profile} | ${fmt(p.normalized, 2)} | ${p.threshold.toPrecision(6)} | ${fmt(p.raw, 2)} | ${fmt(p.nullScore, 2)} | ${fmt(p.perfect, 2)} | ${fmt(s.detectionsPer10k)} | ${s.windowsCaught}/${s.windows} (${fmt(100 * s.windowsCaughtShare, 0)}%) |`,
    );
  }
  const s = r.spikeSuppression;
  if (s) {
    lines.push(
      "",
      `filter spikes (score ≥ 0.5): ${fmt(s.detectionsPer10k)} per 10k events, windows caught ${s.windowsCaught}/${s.windows} (${fmt(100 * s.windowsCaughtShare, 0)}%)`,
    );
  }
  return `${lines.join("\n")}\n`;
}
