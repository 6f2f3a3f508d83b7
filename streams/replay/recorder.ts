import { SpikemeshError } from "../errors.js";
import type { IncomingRecord, Transport } from "../transport/transport.js";
import type { RecordedSchema } from "./recording-format.js";
import type { RecordingWriter } from "./recording-writer.js";

/** Where a recording starts or stops: an event timestamp (ms) or an offset in every partition. */
export type RecordBound = { timeMs: number } | { offset: number };

export interface RecordTopicsOptions {
  topics: string[];
  /** First record kept (inclusive). Default: each partition's start. */
  from?: RecordBound;
  /** Last record kept (inclusive). Default: each partition's end when the recording began. */
  until?: RecordBound;
  /** Keep recording new records until `signal` aborts (`until` still applies). */
  follow?: boolean;
  signal?: AbortSignal;
  /** Looks up a registry schema by the id in a value's wire format; called once per id. */
  schemaById?: (id: number, topic: string) => Promise<RecordedSchema | undefined>;
  /**
   * Called after each batch with the records written so far and, when not following, the share of
   * the offsets to read that have been read (0 to 1; time bounds can make the records fewer).
   */
  onProgress?: (records: number, fraction?: number) => void;
}

/**
 * Copies records of `topics` into a recording, with the registry schemas their values name.
 * Reads with a throwaway consumer group (commits nothing). Returns the number of records written.
 */
export async function recordTopics(
  transport: Transport,
  writer: RecordingWriter,
  options: RecordTopicsOptions,
): Promise<number> {
  const admin = transport.admin();
  const known = new Set(await admin.listTopics());
  const missing = options.topics.filter((t) => !known.has(t));
  if (missing.length > 0) {
    throw new SpikemeshError("TOPIC_UNKNOWN", `cannot record unknown topic(s): ${missing.join(", ")}`);
  }
  const remaining = new Map<string, number>();
  for (const d of await admin.describeTopics(options.topics)) {
    writer.topicPartitions.set(d.name, d.partitions.length);
    for (const p of d.partitions) {
      const end = endOffset(p.highOffset, options.until);
      if (end > Math.max(p.lowOffset, startOffset(options.from)))
        remaining.set(`${d.name}/${p.partition}`, end);
    }
  }
  if (remaining.size === 0 && !options.follow) return 0;
  const from = startOffset(options.from);
  let toRead = 0;
  for (const d of await admin.describeTopics(options.topics))
    for (const p of d.partitions) {
      const end = remaining.get(`${d.name}/${p.partition}`);
      if (end !== undefined) toRead += end - Math.max(p.lowOffset, from);
    }
  let read = 0;
  const consumer = transport.consumer({
    groupId: `spikemesh-record-${process.pid}-${Date.now()}`,
    autoOffsetReset: "earliest",
  });
  let written = 0;
  try {
    await consumer.subscribe(options.topics, {
      onAssigned: (partitions) => {
        const start = startOffset(options.from);
        if (start > 0) for (const tp of partitions) consumer.seek({ ...tp, offset: start });
      },
    });
    while (!options.signal?.aborted && (options.follow || remaining.size > 0)) {
      const batch = await consumer.poll({
        maxRecords: 5_000,
        maxWaitMs: 200,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      for (const rec of batch) {
        const key = `${rec.topic}/${rec.partition}`;
        const end = options.follow ? endOffset(Number.MAX_SAFE_INTEGER, options.until) : remaining.get(key);
        if (end === undefined || rec.offset >= end) continue;
        read++;
        if (rec.offset >= end - 1) remaining.delete(key);
        if (!inTimeRange(rec, options)) continue;
        await embedSchema(writer, rec, options);
        writer.write(rec);
        written++;
      }
      if (batch.length > 0)
        options.onProgress?.(
          written,
          options.follow || toRead === 0 ? undefined : Math.min(1, read / toRead),
        );
    }
    return written;
  } finally {
    await consumer.close();
  }
}

function startOffset(bound: RecordBound | undefined): number {
  return bound && "offset" in bound ? bound.offset : 0;
}

function endOffset(high: number, bound: RecordBound | undefined): number {
  return bound && "offset" in bound ? Math.min(high, bound.offset + 1) : high;
}

function inTimeRange(rec: IncomingRecord, options: RecordTopicsOptions): boolean {
  if (options.from && "timeMs" in options.from && rec.timestampMs < options.from.timeMs) return false;
  if (options.until && "timeMs" in options.until && rec.timestampMs > options.until.timeMs) return false;
  return true;
}

async function embedSchema(writer: RecordingWriter, rec: IncomingRecord, options: RecordTopicsOptions) {
  const value = rec.value;
  if (!options.schemaById || value === null || value.length < 5 || value[0] !== 0) return;
  const id = value.readInt32BE(1);
  if (writer.hasSchema(id)) return;
  const schema = await options.schemaById(id, rec.topic);
  if (schema) writer.addSchema(schema);
}

/** A `schemaById` over any Confluent-compatible registry's REST API. */
export function registrySchemaLookup(
  registryUrl: string,
): (id: number, topic: string) => Promise<RecordedSchema | undefined> {
  const base = registryUrl.replace(/\/+$/, "");
  return async (id, topic) => {
    const res = await fetch(`${base}/schemas/ids/${id}`);
    if (res.status === 404) return undefined;
    if (!res.ok) {
      throw new SpikemeshError(
        "TRANSIENT",
        `schema registry ${base} answered ${res.status} for schema id ${id}`,
        {
          retriable: true,
        },
      );
    }
    const body = (await res.json()) as { schema: string };
    return { id, subject: `${topic}-value`, schema: body.schema };
  };
}
