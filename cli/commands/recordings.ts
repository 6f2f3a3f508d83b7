import { existsSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import {
  type RecordBound,
  RecordingCorruptError,
  RecordingWriter,
  recordTopics,
  registrySchemaLookup,
  replayRecording,
} from "../../streams/replay/index.js";
import { runCommand, UsageError, withRuntime } from "../command-context.js";
import { progressLine } from "../progress.js";
import { inspectRecording } from "../recording-inspect.js";

export function registerRecordings(program: Command): void {
  program
    .command("record")
    .description(
      "Record topics into a self-contained, compressed file (records, headers, offsets and the schemas they use)",
    )
    .requiredOption("--topics <list>", "comma-separated topics to record", listArg)
    .requiredOption("--out <file>", "recording to write (.smrec)")
    .option("--from <bound>", "first record: an offset (digits) or a time (ISO 8601)", boundArg)
    .option("--until <bound>", "last record: an offset (digits) or a time (ISO 8601)", boundArg)
    .option("--follow", "keep recording new records until Ctrl-C (the file stays valid)", false)
    .action(async (flags: RecordFlags, command: Command) => {
      await runCommand(command, (ctx) =>
        withRuntime(ctx, async (runtime) => {
          const writer = new RecordingWriter(flags.out);
          const progress = progressLine("recorded");
          try {
            const n = await recordTopics(runtime.transport, writer, {
              topics: flags.topics,
              ...(flags.from ? { from: flags.from } : {}),
              ...(flags.until ? { until: flags.until } : {}),
              follow: flags.follow,
              signal: ctx.signal,
              schemaById: registrySchemaLookup(runtime.registryUrl),
              onProgress: (n, fraction) => progress.update(n, undefined, fraction),
            });
            writer.close();
            progress.done();
            process.stderr.write(
              `recorded ${n} record(s) from ${flags.topics.join(", ")} into ${flags.out} (${writer.bytesWritten} bytes)\n`,
            );
            return 0;
          } finally {
            writer.close();
          }
        }),
      );
    });

  program
    .command("replay")
    .description(
      "Replay a recording into topics, re-registering its schemas; order kept per key and partition",
    )
    .argument("<file>", "recording (.smrec)")
    .option("--map <pairs>", "topic remapping, from=to[,from=to...]", mapArg, {})
    .option("--topics <list>", "only these recorded topics", listArg)
    .option(
      "--speed <speed>",
      "max, or a factor such as 1 or 10 (paced by record timestamps)",
      speedArg,
      "max",
    )
    .option(
      "--timestamps <mode>",
      "original, or shifted so the first record is now",
      timestampsArg,
      "original",
    )
    .option("--salvage", "replay the valid prefix of a damaged recording", false)
    .action(async (file: string, flags: ReplayFlags, command: Command) => {
      await runCommand(command, async (ctx) => {
        if (!existsSync(file)) throw new UsageError(`recording not found: ${file}`);
        return withRuntime(ctx, async (runtime) => {
          const progress = progressLine("replayed");
          const result = await replayRecording(file, runtime.transport, {
            topicMap: flags.map,
            ...(flags.topics ? { topics: flags.topics } : {}),
            speed: flags.speed,
            timestamps: flags.timestamps,
            serde: runtime.serde,
            salvage: flags.salvage,
            signal: ctx.signal,
            onProgress: (n, fraction) => progress.update(n, undefined, fraction),
          }).catch((err: unknown) => {
            if (err instanceof RecordingCorruptError) {
              throw new UsageError(
                `${err.message}; nothing was replayed (--salvage replays the records before it)`,
              );
            }
            throw err;
          });
          progress.done();
          const per = Object.entries(result.byTopic)
            .map(([t, n]) => `${t} ${n}`)
            .join(", ");
          process.stderr.write(`replayed ${result.sent} record(s): ${per || "none"}\n`);
          if (result.stoppedAtByte !== undefined) {
            process.stderr.write(
              `stopped at the damage at byte offset ${result.stoppedAtByte} (--salvage)\n`,
            );
          }
          return 0;
        });
      });
    });

  program
    .command("inspect")
    .description("Print a recording's topics, counts, time range, schemas and a sample of decoded records")
    .argument("<file>", "recording (.smrec)")
    .option("--sample <n>", "records to show", (v) => Number.parseInt(v, 10), 3)
    .option("--json", "print JSON", false)
    .action(async (file: string, flags: { sample: number; json: boolean }, command: Command) => {
      await runCommand(command, async () => {
        if (!existsSync(file)) throw new UsageError(`recording not found: ${file}`);
        const report = inspectRecording(file, flags.sample);
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : report.text);
        return report.corruption ? 1 : 0;
      });
    });
}

interface RecordFlags {
  topics: string[];
  out: string;
  from?: RecordBound;
  until?: RecordBound;
  follow: boolean;
}

interface ReplayFlags {
  map: Record<string, string>;
  topics?: string[];
  speed: number | "max";
  timestamps: "original" | "shifted";
  salvage: boolean;
}

function listArg(value: string): string[] {
  const list = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 0) throw new InvalidArgumentError("expected a comma-separated list");
  return list;
}

export function boundArg(value: string): RecordBound {
  if (/^\d+$/.test(value)) return { offset: Number(value) };
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new InvalidArgumentError(`expected an offset (digits) or an ISO 8601 time, got "${value}"`);
  return { timeMs: ms };
}

function mapArg(value: string, previous: Record<string, string>): Record<string, string> {
  const out = { ...previous };
  for (const pair of value.split(",")) {
    const [from, to] = pair.split("=").map((s) => s.trim());
    if (!from || !to) throw new InvalidArgumentError(`expected from=to, got "${pair}"`);
    out[from] = to;
  }
  return out;
}

function speedArg(value: string): number | "max" {
  if (value === "max") return "max";
  const n = Number(value.replace(/x$/i, ""));
  if (!(n > 0) || !Number.isFinite(n))
    throw new InvalidArgumentError(`expected max or a positive factor such as 10, got "${value}"`);
  return n;
}

function timestampsArg(value: string): "original" | "shifted" {
  if (value === "original" || value === "shifted") return value;
  throw new InvalidArgumentError(`expected original or shifted, got "${value}"`);
}
