import type { Command } from "commander";
import { describeError } from "../../streams/index.js";
import type { IncomingRecord, TopicPartitionOffset } from "../../streams/transport/transport.js";
import { type CommandContext, runCommand, UsageError, withRuntime } from "../command-context.js";
import type { Runtime } from "../runtime.js";
import { intArg } from "./demo.js";

interface ReadFlags {
  group?: string;
  max?: number;
  follow: boolean;
  last?: number;
  from: "earliest" | "latest";
  valueOnly: boolean;
}

export function registerConsume(program: Command): void {
  program
    .command("consume")
    .description("Print records of topics as JSON lines, values decoded through the schema registry")
    .argument("<topics...>", "topics to read")
    .option(
      "--from <where>",
      "earliest or latest, where a partition without a committed offset starts",
      fromArg,
      "earliest",
    )
    .option("--follow", "keep waiting for new records (Ctrl-C stops); default: stop at the end", false)
    .option("--max <n>", "stop after this many records", intArg(1, Number.MAX_SAFE_INTEGER))
    .option(
      "--group <id>",
      "consume as this consumer group and commit what was printed (default: read without committing)",
    )
    .option("--value-only", "print only the decoded value of each record", false)
    .addHelpText(
      "after",
      "\nEach line: {topic, partition, offset, timestampMs, key, headers, value}. A value that cannot be decoded is\nprinted as base64 in valueBase64 with the reason in decodeError (DLQ topics hold such bytes on purpose).",
    )
    .action(async (topics: string[], flags: ReadFlags, command: Command) => {
      await runCommand(command, (ctx) => readTopics(ctx, topics, flags));
    });

  program
    .command("tail")
    .description("Print the last records of topics, then follow new ones (like tail -f); Ctrl-C stops")
    .argument("<topics...>", "topics to follow")
    .option("-n, --last <n>", "records per partition to show before following", intArg(0, 1_000_000), 10)
    .option("--value-only", "print only the decoded value of each record", false)
    .action(async (topics: string[], flags: { last: number; valueOnly: boolean }, command: Command) => {
      await runCommand(command, (ctx) =>
        readTopics(ctx, topics, {
          follow: true,
          last: flags.last,
          from: "latest",
          valueOnly: flags.valueOnly,
        }),
      );
    });
}

/** Longest wait for the consumer group to assign partitions before giving up. */
const JOIN_WAIT_MS = 60_000;

async function readTopics(ctx: CommandContext, topics: string[], flags: ReadFlags): Promise<number> {
  return withRuntime(ctx, async (runtime) => {
    const known = new Set(await runtime.transport.admin().listTopics());
    const missing = topics.filter((t) => !known.has(t));
    if (missing.length > 0)
      throw new UsageError(`no such topic: ${missing.join(", ")} (see \`spikemesh topics list\`)`);
    const descriptions = await runtime.transport.admin().describeTopics(topics);
    const ends = new Map<string, number>();
    const lows = new Map<string, number>();
    for (const d of descriptions) {
      for (const p of d.partitions) {
        ends.set(`${d.name}/${p.partition}`, p.highOffset);
        lows.set(`${d.name}/${p.partition}`, p.lowOffset);
      }
    }
    const groupId = flags.group ?? `spikemesh-cli-${process.pid}-${Date.now()}`;
    const consumer = runtime.transport.consumer({ groupId, autoOffsetReset: flags.from });
    const unfinished = new Set([...ends].filter(([, end]) => end > 0).map(([tp]) => tp));
    try {
      await consumer.subscribe(topics, {
        onAssigned: (partitions) => {
          if (flags.last === undefined) return;
          for (const tp of partitions) {
            const key = `${tp.topic}/${tp.partition}`;
            const end = ends.get(key) ?? 0;
            consumer.seek({ ...tp, offset: Math.max(lows.get(key) ?? 0, end - flags.last) });
          }
        },
      });
      let printed = 0;
      // On Kafka the group join takes a few seconds: an empty poll before partitions are assigned
      // says nothing about the end of the topic.
      const joinBy = Date.now() + JOIN_WAIT_MS;
      for (;;) {
        if (ctx.signal.aborted) break;
        const batch = await consumer.poll({ maxRecords: 1_000, maxWaitMs: 500, signal: ctx.signal });
        if (batch.length === 0 && !flags.follow) {
          if (unfinished.size === 0 || consumer.assignment().length > 0) break;
          if (Date.now() > joinBy)
            throw new UsageError(
              `no partitions of ${topics.join(", ")} were assigned to group ${groupId} within ${JOIN_WAIT_MS / 1000} s`,
            );
          continue;
        }
        const take = flags.max === undefined ? batch : batch.slice(0, flags.max - printed);
        for (const rec of take) {
          process.stdout.write(`${JSON.stringify(await render(runtime, rec, flags.valueOnly))}\n`);
          const key = `${rec.topic}/${rec.partition}`;
          if (rec.offset >= (ends.get(key) ?? 0) - 1) unfinished.delete(key);
        }
        printed += take.length;
        if (flags.group !== undefined && take.length > 0) await consumer.commit(nextOffsets(take));
        if (flags.max !== undefined && printed >= flags.max) break;
        if (!flags.follow && unfinished.size === 0) break;
      }
      process.stderr.write(`${printed} record(s)\n`);
      return 0;
    } finally {
      await consumer.close();
    }
  });
}

/** The offsets to commit after `records`: one past the last record of each partition. */
function nextOffsets(records: IncomingRecord[]): TopicPartitionOffset[] {
  const next = new Map<string, TopicPartitionOffset>();
  for (const r of records)
    next.set(`${r.topic}/${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
  return [...next.values()];
}

async function render(runtime: Runtime, rec: IncomingRecord, valueOnly: boolean): Promise<unknown> {
  let value: unknown = null;
  let decodeError: string | undefined;
  if (rec.value !== null) {
    try {
      value = toJson(await runtime.codec.decodeAny(rec.value));
    } catch (err) {
      decodeError = describeError(err);
      value = undefined;
    }
  }
  if (valueOnly && decodeError === undefined) return value;
  return {
    topic: rec.topic,
    partition: rec.partition,
    offset: rec.offset,
    timestampMs: rec.timestampMs,
    key: rec.key?.toString("utf8") ?? null,
    headers: rec.headers,
    ...(decodeError === undefined ? { value } : { valueBase64: rec.value?.toString("base64"), decodeError }),
  };
}

/** Avro values as JSON: bytes become base64 strings. */
function toJson(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}

function fromArg(value: string): "earliest" | "latest" {
  if (value === "earliest" || value === "latest") return value;
  throw new UsageError(`--from: expected earliest or latest, got "${value}"`);
}
