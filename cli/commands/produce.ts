import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import { type Command, InvalidArgumentError } from "commander";
import type { RecordType } from "../../schemas/index.js";
import { isSpikemeshError } from "../../streams/index.js";
import type { OutgoingRecord } from "../../streams/transport/transport.js";
import { runCommand, UsageError, withRuntime } from "../command-context.js";
import { coerceRecord, splitCsvLine } from "../record-input.js";
import type { Runtime } from "../runtime.js";
import { recordTypeByName, recordTypeForTopic, recordTypeNames } from "../topic-types.js";
import { intArg } from "./demo.js";

interface ProduceFlags {
  format?: "jsonl" | "csv";
  type?: string;
  key?: string;
  partitions: number;
  batch: number;
  skipInvalid: boolean;
}

export function registerProduce(program: Command): void {
  program
    .command("produce")
    .description(
      "Produce JSON lines or CSV (header row of field names) from a file or stdin into a topic, Avro-encoded with its schema",
    )
    .argument("<topic>", "topic to write to; created when missing")
    .argument("[file]", "input file; '-' or absent reads stdin")
    .option("--format <format>", "jsonl or csv (default: from the file extension, else jsonl)", formatArg)
    .option(
      "--type <record>",
      `record type when the topic is not a well-known one (${recordTypeNames().join(", ")})`,
    )
    .option(
      "--key <field>",
      "field whose value becomes the record key (default: source, when the record has one)",
    )
    .option("--partitions <n>", "partitions when the topic is created", intArg(1, 1024), 2)
    .option("--batch <n>", "records per produced batch", intArg(1, 100_000), 1_000)
    .option(
      "--skip-invalid",
      "report bad lines and go on (exit code 1 at the end) instead of stopping at the first",
      false,
    )
    .addHelpText(
      "after",
      "\nExamples:\n  spikemesh produce telemetry.raw samples.jsonl\n  cat samples.csv | spikemesh produce telemetry.raw --format csv\n\nA line that does not fit the schema stops the run with its line number; the records before it were produced.",
    )
    .action(async (topic: string, file: string | undefined, flags: ProduceFlags, command: Command) => {
      await runCommand(command, async (ctx) => {
        const type = resolveType(topic, flags.type);
        const format = flags.format ?? (file?.endsWith(".csv") ? "csv" : "jsonl");
        const keyField =
          flags.key ?? (type.schema.fields.some((f) => f.name === "source") ? "source" : undefined);
        if (keyField !== undefined && !type.schema.fields.some((f) => f.name === keyField)) {
          throw new UsageError(`--key: ${type.name} has no field "${keyField}"`);
        }
        if (file !== undefined && file !== "-") {
          await access(file).catch(() => {
            throw new UsageError(`input file not found: ${file}`);
          });
        }
        const input = file === undefined || file === "-" ? process.stdin : createReadStream(file);
        const result = await withRuntime(ctx, async (runtime) => {
          await runtime.transport.admin().createTopics([{ name: topic, partitions: flags.partitions }]);
          return produceLines(
            runtime,
            { topic, type, format, keyField, batch: flags.batch, skipInvalid: flags.skipInvalid },
            input,
          );
        });
        const where = file === undefined || file === "-" ? "stdin" : file;
        process.stderr.write(
          `produced ${result.produced} ${type.name} record(s) from ${where} to ${topic}` +
            (result.invalid > 0 ? `; ${result.invalid} invalid line(s) skipped` : "") +
            "\n",
        );
        return result.invalid > 0 ? 1 : 0;
      });
    });
}

interface ProduceJob {
  topic: string;
  type: RecordType<unknown>;
  format: "jsonl" | "csv";
  keyField: string | undefined;
  batch: number;
  skipInvalid: boolean;
}

/** Reads lines, turns each into a record or a numbered error, and sends them in batches. */
export async function produceLines(
  runtime: Runtime,
  job: ProduceJob,
  input: NodeJS.ReadableStream,
): Promise<{ produced: number; invalid: number }> {
  const producer = runtime.transport.producer({ idempotent: true });
  const pending: OutgoingRecord[] = [];
  let produced = 0;
  let invalid = 0;
  let header: string[] | undefined;
  let lineNo = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    await producer.send(pending.splice(0));
  };
  try {
    for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      lineNo++;
      if (line.trim() === "") continue;
      if (job.format === "csv" && header === undefined) {
        header = splitCsvLine(line).map((h) => h.trim());
        continue;
      }
      try {
        const value = await parseLine(runtime, job, line, header);
        const keyValue = job.keyField === undefined ? undefined : value.raw[job.keyField];
        pending.push({
          topic: job.topic,
          key: keyValue === undefined || keyValue === null ? null : Buffer.from(String(keyValue)),
          value: value.bytes,
          ...(typeof value.raw.ts === "number" ? { timestampMs: value.raw.ts } : {}),
        });
      } catch (err) {
        const reason = isSpikemeshError(err) || err instanceof LineError ? err.message : String(err);
        if (!job.skipInvalid) {
          const before = produced + pending.length;
          await flush();
          throw new UsageError(`line ${lineNo}: ${reason} (the ${before} record(s) before it were produced)`);
        }
        invalid++;
        process.stderr.write(`line ${lineNo}: ${reason}\n`);
        continue;
      }
      if (pending.length >= job.batch) {
        const n = pending.length;
        await flush();
        produced += n;
      }
    }
    const n = pending.length;
    await flush();
    produced += n;
    return { produced, invalid };
  } finally {
    await producer.close();
  }
}

class LineError extends Error {}

async function parseLine(
  runtime: Runtime,
  job: ProduceJob,
  line: string,
  header: string[] | undefined,
): Promise<{ raw: Record<string, unknown>; bytes: Buffer }> {
  let fields: Record<string, unknown>;
  if (job.format === "csv") {
    const cells = splitCsvLine(line);
    if (cells.length !== header!.length) {
      throw new LineError(`expected ${header!.length} CSV cells (${header!.join(",")}), got ${cells.length}`);
    }
    fields = Object.fromEntries(header!.map((h, i) => [h, cells[i]]));
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new LineError(`not valid JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new LineError("expected a JSON object");
    }
    fields = parsed as Record<string, unknown>;
  }
  const coerced = coerceRecord(job.type, fields);
  if (!coerced.ok) throw new LineError(coerced.reason);
  const bytes = await runtime.codec.encode(job.topic, job.type, coerced.value);
  return { raw: coerced.value, bytes };
}

function resolveType(topic: string, name: string | undefined): RecordType<unknown> {
  if (name !== undefined) {
    const type = recordTypeByName(name.replace(/^spikemesh\./, ""));
    if (!type)
      throw new UsageError(`--type: unknown record "${name}"; one of ${recordTypeNames().join(", ")}`);
    return type;
  }
  const type = recordTypeForTopic(topic);
  if (!type) {
    throw new UsageError(
      `topic "${topic}" has no well-known record type: pass --type (${recordTypeNames().join(", ")})`,
    );
  }
  return type;
}

function formatArg(value: string): "jsonl" | "csv" {
  if (value === "jsonl" || value === "json" || value === "csv") return value === "csv" ? "csv" : "jsonl";
  throw new InvalidArgumentError(`--format: expected jsonl or csv, got "${value}"`);
}
