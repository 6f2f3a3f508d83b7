import type { IHeaders, KafkaMessage, Message } from "kafkajs";
import { SpikemeshError } from "../errors.js";
import type {
  Headers,
  IncomingRecord,
  OutgoingRecord,
  TopicPartitionOffset,
} from "../transport/transport.js";

/** Record batch framing and per-record overhead in Kafka's v2 format, rounded up. */
const BATCH_OVERHEAD_BYTES = 61;
const RECORD_OVERHEAD_BYTES = 24;

function invalid(message: string, topic: string): SpikemeshError {
  return new SpikemeshError("RECORD_INVALID", message, { context: { topic } });
}

function isBytes(v: unknown): v is Buffer | null {
  return v === null || Buffer.isBuffer(v);
}

/**
 * Checks a record the way the embedded producer does (types, header strings, finite timestamp,
 * partition an integer) and returns its approximate size on the wire in bytes.
 */
export function validateRecord(r: OutgoingRecord, index: number): number {
  if (!isBytes(r.key) || !isBytes(r.value)) {
    throw invalid(`record ${index} for ${r.topic}: key and value must be Buffer or null`, r.topic);
  }
  if (r.partition !== undefined && !(Number.isInteger(r.partition) && r.partition >= 0)) {
    throw invalid(`record ${index}: partition ${r.partition} of ${r.topic} is not an integer ≥ 0`, r.topic);
  }
  if (r.timestampMs !== undefined && !Number.isFinite(r.timestampMs)) {
    throw invalid(`record ${index}: timestampMs must be finite`, r.topic);
  }
  let bytes = RECORD_OVERHEAD_BYTES + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  if (r.headers !== undefined) {
    for (const name in r.headers) {
      const value = r.headers[name];
      if (typeof value !== "string")
        throw invalid(`record ${index}: header ${name} must be a string`, r.topic);
      bytes += 8 + Buffer.byteLength(name) + Buffer.byteLength(value);
    }
  }
  return bytes;
}

/** Offsets given to commit, seek and sendOffsets must be non-negative safe integers (RECORD_INVALID otherwise). */
export function assertOffset(o: TopicPartitionOffset, what: string): void {
  if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
    throw new SpikemeshError("RECORD_INVALID", `${what} offset ${o.offset} is not a non-negative integer`, {
      context: { topic: o.topic, partition: o.partition },
    });
  }
}

/** The kafkajs message for a record; `defaultTimestampMs` stands in for a missing timestamp. */
export function toKafkaMessage(r: OutgoingRecord, defaultTimestampMs: number): Message {
  const message: Message = {
    key: r.key,
    value: r.value,
    timestamp: String(Math.trunc(r.timestampMs ?? defaultTimestampMs)),
  };
  if (r.headers !== undefined) message.headers = { ...r.headers };
  if (r.partition !== undefined) message.partition = r.partition;
  return message;
}

/** Header values arrive as bytes (or lists of them for repeated names); the last value wins. */
export function headersFromKafka(headers: IHeaders | undefined): Headers {
  const out: Headers = {};
  if (headers === undefined) return out;
  for (const name of Object.keys(headers)) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined) continue;
    out[name] = Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
  }
  return out;
}

export function fromKafkaMessage(topic: string, partition: number, m: KafkaMessage): IncomingRecord {
  return {
    topic,
    partition,
    offset: Number(m.offset),
    key: m.key ?? null,
    value: m.value ?? null,
    headers: headersFromKafka(m.headers),
    timestampMs: Number(m.timestamp),
  };
}

/**
 * Splits records (with their sizes) into consecutive chunks of at most `maxBytes`, so no produce
 * request exceeds the broker's `message.max.bytes`; order is kept, a single large record gets a
 * chunk of its own (the broker then rejects it with RECORD_TOO_LARGE).
 */
export function chunkBySize<T>(items: readonly T[], sizes: readonly number[], maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = BATCH_OVERHEAD_BYTES;
  for (let i = 0; i < items.length; i++) {
    const size = sizes[i] ?? 0;
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = BATCH_OVERHEAD_BYTES;
    }
    current.push(items[i]!);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
