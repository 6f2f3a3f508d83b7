import type { Clock } from "../clock.js";
import { SpikemeshError } from "../errors.js";
import type { KeyPartitioner } from "../transport/partitioner.js";
import type { OutgoingRecord, RecordMetadata } from "../transport/transport.js";
import type { PartitionLog } from "./partition-log.js";
import { type EncodableRecord, FRAME_HEADER_BYTES, MIN_BODY_BYTES } from "./record-codec.js";
import type { EmbeddedTopic, TopicRegistry } from "./topic-registry.js";

/** The records of one send that go to one partition, with their positions in the input. */
export interface PartitionBatch {
  log: PartitionLog;
  records: EncodableRecord[];
  /** Index of each record in the `send()` argument, for returning metadata in input order. */
  inputIndexes: number[];
}

export interface BatchingDeps {
  registry: TopicRegistry;
  partitioner: KeyPartitioner;
  clock: Clock;
  /** Largest encoded record accepted, in bytes. */
  maxRecordBytes: number;
}

function isBytes(v: unknown): v is Buffer | null {
  return v === null || Buffer.isBuffer(v);
}

function invalid(message: string, topic: string, partition?: number): SpikemeshError {
  return new SpikemeshError("RECORD_INVALID", message, {
    context: partition === undefined ? { topic } : { topic, partition },
  });
}

/**
 * Validates records and groups them by partition, keeping their order. Throws before anything
 * is written: TOPIC_UNKNOWN, RECORD_INVALID (types, partition out of range, null key on a
 * compacted topic), RECORD_TOO_LARGE.
 */
export function groupByPartition(records: readonly OutgoingRecord[], deps: BatchingDeps): PartitionBatch[] {
  const batches = new Map<PartitionLog, PartitionBatch>();
  const now = deps.clock.nowMs();
  // Sends usually go to one topic: look it up when the name changes, not per record.
  let topicName: string | undefined;
  let topic: EmbeddedTopic | undefined;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.topic !== topicName || topic === undefined) {
      topic = deps.registry.require(r.topic);
      topicName = r.topic;
    }
    const count = topic.config.partitions;
    if (!isBytes(r.key) || !isBytes(r.value)) {
      throw invalid(`record ${i} for ${r.topic}: key and value must be Buffer or null`, r.topic);
    }
    if (r.key === null && topic.config.cleanupPolicy === "compact") {
      throw invalid(
        `record ${i} for compacted topic ${r.topic} has a null key; compaction needs keys`,
        r.topic,
      );
    }
    if (
      r.partition !== undefined &&
      !(Number.isInteger(r.partition) && r.partition >= 0 && r.partition < count)
    ) {
      throw invalid(`record ${i}: partition ${r.partition} is not in [0, ${count}) of ${r.topic}`, r.topic);
    }
    const timestampMs = r.timestampMs ?? now;
    if (!Number.isFinite(timestampMs)) throw invalid(`record ${i}: timestampMs must be finite`, r.topic);
    let bytes = FRAME_HEADER_BYTES + MIN_BODY_BYTES + (r.key?.length ?? 0) + (r.value?.length ?? 0);
    if (r.headers !== undefined) {
      for (const name in r.headers) {
        const value = r.headers[name];
        if (typeof value !== "string") throw invalid(`record ${i}: header ${name} must be a string`, r.topic);
        const nameBytes = Buffer.byteLength(name);
        if (nameBytes > 0xffff) throw invalid(`record ${i}: header name longer than 65535 bytes`, r.topic);
        bytes += 6 + nameBytes + Buffer.byteLength(value);
      }
    }
    if (bytes > deps.maxRecordBytes) {
      throw new SpikemeshError(
        "RECORD_TOO_LARGE",
        `record ${i} for ${r.topic} is ${bytes} bytes, over maxRecordBytes ${deps.maxRecordBytes}`,
        { context: { topic: r.topic } },
      );
    }
    const partition = deps.partitioner.partition(r.topic, r.key, count, r.partition);
    const log = topic.partitions[partition]!;
    let batch = batches.get(log);
    if (batch === undefined) {
      batch = { log, records: [], inputIndexes: [] };
      batches.set(log, batch);
    }
    batch.records.push({ key: r.key, value: r.value, headers: r.headers, timestampMs });
    batch.inputIndexes.push(i);
  }
  return [...batches.values()];
}

/** Appends each partition's batch (one write each) and returns metadata in input order. */
export function appendBatches(batches: readonly PartitionBatch[], total: number): RecordMetadata[] {
  const out = new Array<RecordMetadata>(total);
  for (const batch of batches) {
    const base = batch.log.append(batch.records);
    const { topic, partition } = batch.log;
    for (let j = 0; j < batch.inputIndexes.length; j++) {
      out[batch.inputIndexes[j]!] = { topic, partition, offset: base + j };
    }
  }
  return out;
}
