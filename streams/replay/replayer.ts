import type { RegistrySerde } from "../serde/record-serde.js";
import type { OutgoingRecord, Transport } from "../transport/transport.js";
import type { RecordedRecord, RecordedSchema } from "./recording-format.js";
import { RecordingReader } from "./recording-reader.js";

export interface ReplayOptions {
  /** Recorded topic → target topic; unmapped topics keep their names. */
  topicMap?: Record<string, string>;
  /** Only these recorded topics (after nothing is mapped yet). Default: all. */
  topics?: string[];
  /** "max" (default) sends as fast as the target takes them; N paces by record timestamps at N× speed. */
  speed?: number | "max";
  /** "original" (default) keeps record timestamps; "shifted" moves them so the first one is now. */
  timestamps?: "original" | "shifted";
  /**
   * Re-registers the embedded schemas in the target registry under `<target topic>-value` and
   * rewrites the schema id in each value when the target registry gave another one. Without it,
   * values are replayed byte for byte.
   */
  serde?: RegistrySerde;
  /** Partitions of target topics that do not exist yet. Default: as many as the recording used. */
  partitions?: number;
  /** Replay the valid prefix of a damaged recording instead of failing before sending anything. */
  salvage?: boolean;
  signal?: AbortSignal;
  onProgress?: (sent: number) => void;
  /** Wall clock for pacing. Default Date.now. */
  nowMs?: () => number;
}

export interface ReplayResult {
  sent: number;
  byTopic: Record<string, number>;
  /** Set when `salvage` stopped at damage: its byte offset. */
  stoppedAtByte?: number;
}

const BATCH = 1_000;

/**
 * Replays a recording into a transport: per recorded partition in recorded order (a record keeps
 * its partition when the target topic has it, else its key picks one), optionally paced, with
 * schemas re-registered. The recording is verified first, so a damaged file fails before anything
 * is sent unless `salvage` is set.
 */
export async function replayRecording(
  path: string,
  transport: Transport,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const plan = await planTopics(path, options);
  const admin = transport.admin();
  const existing = new Set(await admin.listTopics());
  await admin.createTopics(
    [...plan.partitions]
      .filter(([topic]) => !existing.has(topic))
      .map(([name, n]) => ({ name, partitions: options.partitions ?? n })),
  );
  const targetPartitions = new Map<string, number>();
  if (plan.partitions.size > 0) {
    for (const d of await admin.describeTopics([...plan.partitions.keys()])) {
      targetPartitions.set(d.name, d.partitions.length);
    }
  }
  const reader = new RecordingReader(path, { salvage: options.salvage ?? false });
  const producer = transport.producer({ idempotent: true });
  const ids = new Map<string, Promise<number>>();
  const now = options.nowMs ?? Date.now;
  const speed = options.speed ?? "max";
  const result: ReplayResult = { sent: 0, byTopic: {} };
  let batch: OutgoingRecord[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const sending = batch;
    batch = [];
    await producer.send(sending);
    result.sent += sending.length;
    options.onProgress?.(result.sent);
  };
  try {
    let firstTs: number | undefined;
    let startedWall = 0;
    for (const rec of reader.records()) {
      if (options.signal?.aborted) break;
      if (options.topics && !options.topics.includes(rec.topic)) continue;
      const topic = options.topicMap?.[rec.topic] ?? rec.topic;
      if (firstTs === undefined) {
        firstTs = rec.timestampMs;
        startedWall = now();
      }
      if (speed !== "max") {
        const dueWall = startedWall + (rec.timestampMs - firstTs) / speed;
        if (dueWall > now()) {
          await flush();
          await delay(dueWall - now(), options.signal);
        }
      }
      const value = await rewriteSchemaId(rec, topic, reader.schemas, ids, options.serde);
      const n = targetPartitions.get(topic) ?? 1;
      batch.push({
        topic,
        key: rec.key,
        value,
        headers: rec.headers,
        timestampMs:
          options.timestamps === "shifted" ? startedWall + (rec.timestampMs - firstTs) : rec.timestampMs,
        ...(rec.partition < n ? { partition: rec.partition } : {}),
      });
      result.byTopic[topic] = (result.byTopic[topic] ?? 0) + 1;
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  } finally {
    await producer.close();
  }
  if (reader.corruption) result.stoppedAtByte = reader.corruption.byteOffset;
  return result;
}

/** Target topics and how many partitions the recording used on each; verifies the file. */
async function planTopics(
  path: string,
  options: ReplayOptions,
): Promise<{ partitions: Map<string, number> }> {
  const reader = new RecordingReader(path, { salvage: options.salvage ?? false });
  const partitions = new Map<string, number>();
  for (const rec of reader.records()) {
    if (options.topics && !options.topics.includes(rec.topic)) continue;
    const topic = options.topicMap?.[rec.topic] ?? rec.topic;
    partitions.set(topic, Math.max(partitions.get(topic) ?? 1, rec.partition + 1));
  }
  return { partitions };
}

/** The value with its schema id replaced by the target registry's id for the same schema. */
async function rewriteSchemaId(
  rec: RecordedRecord,
  topic: string,
  schemas: Map<number, RecordedSchema>,
  ids: Map<string, Promise<number>>,
  serde: RegistrySerde | undefined,
): Promise<Buffer | null> {
  const value = rec.value;
  if (!serde || value === null || value.length < 5 || value[0] !== 0) return value;
  const recordedId = value.readInt32BE(1);
  const schema = schemas.get(recordedId);
  if (!schema) return value;
  const key = `${recordedId}\u0000${topic}`;
  let id = ids.get(key);
  if (!id) {
    id = serde.register(`${topic}-value`, JSON.parse(schema.schema));
    ids.set(key, id);
  }
  const targetId = await id;
  if (targetId === recordedId) return value;
  const copy = Buffer.from(value);
  copy.writeInt32BE(targetId, 1);
  return copy;
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
