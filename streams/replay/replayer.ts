import type { RegistrySerde } from "../serde/record-serde.js";
import type { OutgoingRecord, Transport } from "../transport/transport.js";
import type { RecordedRecord, RecordedSchema } from "./recording-format.js";
import { RecordingReader, scanRecording } from "./recording-reader.js";

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
  /** How pacing waits. Default: a timer cut short by `signal` (tests pass a fake that moves `nowMs`). */
  sleep?: (ms: number) => Promise<void>;
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
  if (!options.salvage) {
    const damage = scanRecording(path);
    if (damage) throw damage;
  }
  const reader = new RecordingReader(path, { salvage: options.salvage ?? false });
  const targets = new TargetTopics(transport, reader, path, options);
  const producer = transport.producer({ idempotent: true });
  const ids = new SchemaIds(reader.schemas, options.serde);
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
          await (options.sleep ?? ((ms: number) => delay(ms, options.signal)))(dueWall - now());
        }
      }
      let n = targets.partitionsOf(topic);
      if (n === undefined) {
        await flush();
        n = await targets.ensure(topic, rec.topic);
      }
      const ready = ids.rewrite(rec, topic);
      const value = ready === undefined ? await ids.resolve(rec, topic) : ready;
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

/**
 * Target topics, created on first use with the partition count the recording noted for the source
 * topic (or, for a recording without it, the highest partition seen, found by one pre-scan).
 */
class TargetTopics {
  private readonly partitions = new Map<string, number>();
  private scanned: Map<string, number> | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly reader: RecordingReader,
    private readonly path: string,
    private readonly options: ReplayOptions,
  ) {}

  partitionsOf(topic: string): number | undefined {
    return this.partitions.get(topic);
  }

  async ensure(topic: string, recordedTopic: string): Promise<number> {
    const admin = this.transport.admin();
    if (!(await admin.listTopics()).includes(topic)) {
      const wanted =
        this.options.partitions ?? this.reader.topicPartitions.get(recordedTopic) ?? this.scan(recordedTopic);
      await admin.createTopics([{ name: topic, partitions: wanted }]);
    }
    const [d] = await admin.describeTopics([topic]);
    const n = d?.partitions.length ?? 1;
    this.partitions.set(topic, n);
    return n;
  }

  private scan(recordedTopic: string): number {
    if (!this.scanned) {
      const scanned = new Map<string, number>();
      for (const rec of new RecordingReader(this.path, { salvage: true }).records()) {
        scanned.set(rec.topic, Math.max(scanned.get(rec.topic) ?? 1, rec.partition + 1));
      }
      this.scanned = scanned;
    }
    return this.scanned.get(recordedTopic) ?? 1;
  }
}

/** Target-registry ids of recorded schema ids, per target topic; a value is copied only when its id changes. */
class SchemaIds {
  private readonly resolved = new Map<string, number>();
  private readonly pending = new Map<string, Promise<number>>();

  constructor(
    private readonly schemas: Map<number, RecordedSchema>,
    private readonly serde: RegistrySerde | undefined,
  ) {}

  /** The value ready to send, or undefined while its target id is not known yet (see `resolve`). */
  rewrite(rec: RecordedRecord, topic: string): Buffer | null | undefined {
    const value = rec.value;
    if (!this.serde || value === null || value.length < 5 || value[0] !== 0) return value;
    const recordedId = value.readInt32BE(1);
    if (!this.schemas.has(recordedId)) return value;
    const targetId = this.resolved.get(`${recordedId}/${topic}`);
    if (targetId === undefined) return undefined;
    if (targetId === recordedId) return value;
    const copy = Buffer.from(value);
    copy.writeInt32BE(targetId, 1);
    return copy;
  }

  /** Registers the record's schema under `<topic>-value` in the target registry, then rewrites. */
  async resolve(rec: RecordedRecord, topic: string): Promise<Buffer | null> {
    const recordedId = rec.value!.readInt32BE(1);
    const key = `${recordedId}/${topic}`;
    let id = this.pending.get(key);
    if (!id) {
      id = this.serde!.register(`${topic}-value`, JSON.parse(this.schemas.get(recordedId)!.schema));
      this.pending.set(key, id);
    }
    this.resolved.set(key, await id);
    return this.rewrite(rec, topic) ?? null;
  }
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
