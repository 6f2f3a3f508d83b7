import { existsSync, readFileSync, statSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { MASK_NAMES, type MaskName, templateMinerOptions } from "../../processors/snn-filter/index.js";
import { ConfigError } from "../../streams/index.js";
import { runCommand, UsageError } from "../command-context.js";
import type { SpikemeshConfig } from "../config.js";
import { parseCsv } from "../templates/csv.js";
import { type GroupingReport, groupingAccuracy } from "../templates/grouping-accuracy.js";
import { mineFile } from "../templates/mine-file.js";
import { intArg } from "./demo.js";

interface TemplatesFlags {
  in: string;
  out: string;
  similarity?: number;
  depth?: number;
  maxChildren?: number;
  maxTemplates?: number;
  masks?: MaskName[];
  maxLineBytes: number;
  labels?: string;
  labelColumn: string;
}

/** The log filter node whose miner options `templates` starts from (config `nodes`). */
const LOG_FILTER_NODE = "snn-log-filter";

export function registerTemplates(program: Command): void {
  program
    .command("templates")
    .description(
      "Mine a file of log messages (one per line) into templates with the SNN log filter's miner and write LineId,TemplateId,Template as CSV",
    )
    .requiredOption("--in <file>", "log messages, one per line (LF or CRLF)")
    .requiredOption("--out <csv>", "where to write LineId,TemplateId,Template")
    .option("--similarity <x>", "share of equal tokens for a line to join a template (0-1)", unitArg)
    .option("--depth <n>", "parse tree depth (Drain's: 4 = token count + first token)", intArg(3, 16))
    .option("--max-children <n>", "children per tree node", intArg(2, 1_000_000))
    .option("--max-templates <n>", "templates kept (least recently matched evicted)", intArg(1, 100_000_000))
    .option(
      "--masks <list>",
      `masked variables, comma-separated from ${MASK_NAMES.join(",")}; "none" for none`,
      masksArg,
    )
    .option("--max-line-bytes <n>", "longer lines are not mined (TemplateId 0)", intArg(1, 1 << 30), 16_384)
    .option(
      "--labels <csv>",
      "score the grouping against labels: a CSV with a header holding LineId and the label column (Loghub's *_structured.csv works)",
    )
    .option("--label-column <name>", "column of --labels holding each line's true template", "EventId")
    .addHelpText(
      "after",
      `\nMiner options start from the configuration's nodes.${LOG_FILTER_NODE}.miner (the mesh's own), then flags.\nEvery line of a template shows the template as it stands after the whole file; <*> marks variables.\n\nExample:\n  spikemesh templates --in app.log --out app-templates.csv`,
    )
    .action(async (flags: TemplatesFlags, command: Command) => {
      await runCommand(command, async ({ config }) => {
        const miner = minerOptions(config, flags);
        if (!existsSync(flags.in) || !statSync(flags.in).isFile()) {
          throw new UsageError(`--in ${flags.in}: no such file`);
        }
        const tty = process.stderr.isTTY === true;
        const report = mineFile({
          inPath: flags.in,
          outPath: flags.out,
          miner,
          maxLineBytes: flags.maxLineBytes,
          onProgress: (lines) => {
            const text = `templates: ${lines.toLocaleString("en-US")} lines`;
            process.stderr.write(tty ? `\r\x1b[2K${text}` : `${text}\n`);
          },
        });
        if (tty) process.stderr.write("\r\x1b[2K");
        const out = [
          `spikemesh templates: ${report.lines.toLocaleString("en-US")} lines, ${report.templates.toLocaleString("en-US")} templates -> ${report.outPath}`,
        ];
        if (report.tooLong.length > 0) {
          const first = report.tooLong.slice(0, 5).join(", ");
          out.push(
            `${report.tooLong.length} line(s) over --max-line-bytes ${flags.maxLineBytes} not mined (TemplateId 0): LineId ${first}${report.tooLong.length > 5 ? ", ..." : ""}`,
          );
        }
        if (flags.labels !== undefined) {
          const labels = readLabels(flags.labels, flags.labelColumn, report.lines);
          out.push(
            formatGrouping(
              groupingAccuracy(
                labels.lineIds.map((id) => report.templateIds[id - 1]!),
                labels.labels,
              ),
              flags.labels,
            ),
          );
        }
        process.stdout.write(`${out.join("\n")}\n`);
        return 0;
      });
    });
}

function minerOptions(config: SpikemeshConfig, flags: TemplatesFlags) {
  const fromConfig = config.nodes[LOG_FILTER_NODE]?.miner ?? {};
  const configured = templateMinerOptions.safeParse(fromConfig);
  if (!configured.success) {
    throw new ConfigError(
      configured.error.issues.map((i) => `nodes.${LOG_FILTER_NODE}.miner.${i.path.join(".")}: ${i.message}`),
    );
  }
  const overrides = {
    ...(flags.similarity === undefined ? {} : { similarity: flags.similarity }),
    ...(flags.depth === undefined ? {} : { depth: flags.depth }),
    ...(flags.maxChildren === undefined ? {} : { maxChildren: flags.maxChildren }),
    ...(flags.maxTemplates === undefined ? {} : { maxTemplates: flags.maxTemplates }),
    ...(flags.masks === undefined ? {} : { masks: flags.masks }),
  };
  return { ...configured.data, ...overrides };
}

/** Reads LineId and the label column from a labelled CSV; every LineId must name a line of the input. */
function readLabels(path: string, column: string, lines: number): { lineIds: number[]; labels: string[] } {
  let rows: string[][];
  try {
    rows = parseCsv(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError(`--labels ${path}: ${(err as Error).message}`);
  }
  const header = rows[0] ?? [];
  const idAt = header.indexOf("LineId");
  const labelAt = header.indexOf(column);
  if (idAt < 0 || labelAt < 0) {
    throw new UsageError(
      `--labels ${path}: the header needs LineId and ${column} columns (found: ${header.join(", ")}); pick the label column with --label-column`,
    );
  }
  const lineIds: number[] = [];
  const labels: string[] = [];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r]!;
    const id = Number(row[idAt]);
    if (!Number.isInteger(id) || id < 1 || id > lines) {
      throw new UsageError(
        `--labels ${path}: row ${r + 1} has LineId "${row[idAt]}", not a line of the input (1-${lines})`,
      );
    }
    lineIds.push(id);
    labels.push(row[labelAt] ?? "");
  }
  return { lineIds, labels };
}

function formatGrouping(g: GroupingReport, path: string): string {
  return (
    `grouping accuracy ${g.accuracy.toFixed(4)} against ${path}: ${g.correctLines.toLocaleString("en-US")}/${g.lines.toLocaleString("en-US")} labelled lines ` +
    `in exactly their true group; ${g.trueGroups} true groups, ${g.predictedGroups} mined`
  );
}

function unitArg(value: string): number {
  const x = Number(value);
  if (value.trim() === "" || !Number.isFinite(x) || x < 0 || x > 1) {
    throw new InvalidArgumentError(`expected a number from 0 to 1, got "${value}"`);
  }
  return x;
}

function masksArg(value: string): MaskName[] {
  if (value === "none") return [];
  const names = value.split(",").map((s) => s.trim());
  const unknown = names.filter((n) => !(MASK_NAMES as string[]).includes(n));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown mask(s) ${unknown.join(", ")}; choose from ${MASK_NAMES.join(", ")} or "none"`,
    );
  }
  return names as MaskName[];
}
