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
  /** Called after each sent batch with the records sent so far and the share of the file read (0 to 1). */
  onProgress?: (sent: number, fraction: number) => void;
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
  const byTarget = new Map<string, TargetState>();
  const targetState = (recorded: string, topic: string): TargetState => {
    let t = byTarget.get(recorded);
    if (!t) {
      t = { topic, partitions: targets.partitionsOf(topic), schemaIds: new Map(), sent: 0 };
      byTarget.set(recorded, t);
    }
    return t;
  };
  const flush = async () => {
    if (batch.length === 0) return;
    const sending = batch;
    batch = [];
    await producer.send(sending);
    result.sent += sending.length;
    options.onProgress?.(result.sent, reader.fileBytes > 0 ? reader.validBytes / reader.fileBytes : 1);
  };
  try {
    let firstTs: number | undefined;
    let startedWall = 0;
    const signal = options.signal;
    const shifted = options.timestamps === "shifted";
    // Per recorded topic: its target, partition count and schema ids (looked up once per topic run,
    // not per record: this loop runs at up to a million records a second).
    let lastTopic: string | undefined;
    let target: TargetState | undefined;
    for await (const records of reader.recordBatches()) {
      for (const rec of records) {
        if (signal?.aborted) break;
        if (rec.topic !== lastTopic) {
          lastTopic = rec.topic;
          target =
            options.topics && !options.topics.includes(rec.topic)
              ? undefined
              : targetState(rec.topic, options.topicMap?.[rec.topic] ?? rec.topic);
        }
        if (target === undefined) continue;
        const topic = target.topic;
        if (firstTs === undefined) {
          firstTs = rec.timestampMs;
          startedWall = now();
        }
        if (speed !== "max") {
          const dueWall = startedWall + (rec.timestampMs - firstTs) / speed;
          if (dueWall > now()) {
            await flush();
            await (options.sleep ?? ((ms: number) => delay(ms, signal)))(dueWall - now());
          }
        }
        if (target.partitions === undefined) {
          await flush();
          target.partitions = await targets.ensure(topic, rec.topic);
        }
        const ready = ids.rewrite(rec, target.schemaIds);
        const value = ready === undefined ? await ids.resolve(rec, topic, target.schemaIds) : ready;
        batch.push({
          topic,
          key: rec.key,
          value,
          headers: rec.headers,
          timestampMs: shifted ? startedWall + (rec.timestampMs - firstTs) : rec.timestampMs,
          // A record keeps its partition when the target topic has it; otherwise its key picks one.
          partition: rec.partition < target.partitions ? rec.partition : undefined,
        });
        target.sent++;
        if (batch.length >= BATCH) await flush();
      }
      if (signal?.aborted) break;
    }
    await flush();
  } finally {
    await producer.close();
  }
  for (const t of byTarget.values())
    if (t.sent > 0) result.byTopic[t.topic] = (result.byTopic[t.topic] ?? 0) + t.sent;
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

/** One target topic of a replay: where records go, its partitions, its schema ids, records sent. */
interface TargetState {
  topic: string;
  /** Unknown until the topic exists. */
  partitions: number | undefined;
  /** Recorded schema id → target registry id, for this target topic. */
  schemaIds: Map<number, number>;
  sent: number;
}

/** Target-registry ids of recorded schema ids, per target topic; a value is copied only when its id changes. */
class SchemaIds {
  private readonly pending = new Map<string, Promise<number>>();

  constructor(
    private readonly schemas: Map<number, RecordedSchema>,
    private readonly serde: RegistrySerde | undefined,
  ) {}

  /** The value ready to send, or undefined while its target id is not known yet (see `resolve`). */
  rewrite(rec: RecordedRecord, resolved: Map<number, number>): Buffer | null | undefined {
    const value = rec.value;
    if (!this.serde || value === null || value.length < 5 || value[0] !== 0) return value;
    const recordedId = value.readInt32BE(1);
    const targetId = resolved.get(recordedId);
    if (targetId === recordedId) return value;
    if (targetId === undefined) return this.schemas.has(recordedId) ? undefined : value;
    const copy = Buffer.from(value);
    copy.writeInt32BE(targetId, 1);
    return copy;
  }

  /** Registers the record's schema under `<topic>-value` in the target registry, then rewrites. */
  async resolve(rec: RecordedRecord, topic: string, resolved: Map<number, number>): Promise<Buffer | null> {
    const recordedId = rec.value!.readInt32BE(1);
    const key = `${recordedId}/${topic}`;
    let id = this.pending.get(key);
    if (!id) {
      id = this.serde!.register(`${topic}-value`, JSON.parse(this.schemas.get(recordedId)!.schema));
      this.pending.set(key, id);
    }
    resolved.set(recordedId, await id);
    return this.rewrite(rec, resolved) ?? null;
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
