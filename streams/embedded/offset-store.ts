import { join } from "node:path";
import type { Logger } from "../logger.js";
import type { TopicPartitionOffset } from "../transport/transport.js";
import { FramedFile } from "./framed-file.js";

/** One entry of the offsets file: a commit, or the removal of a deleted topic's offsets. */
type OffsetEntry = { g: string; o: [topic: string, partition: number, offset: number][] } | { d: string };

/** Rewrite the file once it holds this many bytes more than a fresh snapshot would. */
const REWRITE_SLACK_BYTES = 1 << 20;

/**
 * Committed consumer-group offsets, kept in memory and persisted to `consumer-offsets.log`: an
 * append-only file of CRC-checked JSON entries, one `writeSync` per commit, rewritten atomically
 * (temp file + rename) when it grows. Reopening replays it; a torn last entry is dropped.
 */
export class OffsetStore {
  /** groupId → topic → partition → offset. */
  private readonly groups = new Map<string, Map<string, Map<number, number>>>();
  private snapshotBytes = 0;

  private constructor(private readonly file: FramedFile) {}

  static open(dataDir: string, fsync: boolean, log: Logger): OffsetStore {
    const { file, entries } = FramedFile.open(join(dataDir, "consumer-offsets.log"), fsync, log);
    const store = new OffsetStore(file);
    for (const payload of entries) store.apply(JSON.parse(payload.toString("utf8")) as OffsetEntry);
    store.snapshotBytes = store.snapshot().reduce((n, b) => n + b.length + 8, 0);
    return store;
  }

  /** Persists and applies a group's offsets (one write). */
  commit(groupId: string, offsets: readonly TopicPartitionOffset[]): void {
    if (offsets.length === 0) return;
    this.write({ g: groupId, o: offsets.map((o) => [o.topic, o.partition, o.offset]) });
  }

  /** Persists and applies several groups' offsets, e.g. from one transaction. */
  commitMany(byGroup: ReadonlyMap<string, readonly TopicPartitionOffset[]>): void {
    for (const [groupId, offsets] of byGroup) this.commit(groupId, offsets);
  }

  /** Forgets every group's offsets for a deleted topic. */
  forgetTopic(topic: string): void {
    this.write({ d: topic });
  }

  /** Committed offsets of a group for a topic, in partition order. */
  committed(groupId: string, topic: string): TopicPartitionOffset[] {
    const partitions = this.groups.get(groupId)?.get(topic);
    if (partitions === undefined) return [];
    return [...partitions.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([partition, offset]) => ({ topic, partition, offset }));
  }

  /** The committed offset of one partition, if any. */
  committedOffset(groupId: string, topic: string, partition: number): number | undefined {
    return this.groups.get(groupId)?.get(topic)?.get(partition);
  }

  /** Groups with at least one committed offset. */
  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  close(): void {
    this.file.close();
  }

  private write(entry: OffsetEntry): void {
    this.file.append(Buffer.from(JSON.stringify(entry), "utf8"));
    this.apply(entry);
    if (this.file.sizeBytes > this.snapshotBytes + REWRITE_SLACK_BYTES) {
      const snapshot = this.snapshot();
      this.file.rewrite(snapshot);
      this.snapshotBytes = this.file.sizeBytes;
    }
  }

  private apply(entry: OffsetEntry): void {
    if ("d" in entry) {
      for (const [groupId, topics] of this.groups) {
        topics.delete(entry.d);
        if (topics.size === 0) this.groups.delete(groupId);
      }
      return;
    }
    let topics = this.groups.get(entry.g);
    if (topics === undefined) {
      topics = new Map();
      this.groups.set(entry.g, topics);
    }
    for (const [topic, partition, offset] of entry.o) {
      let partitions = topics.get(topic);
      if (partitions === undefined) {
        partitions = new Map();
        topics.set(topic, partitions);
      }
      partitions.set(partition, offset);
    }
  }

  private snapshot(): Buffer[] {
    const out: Buffer[] = [];
    for (const [groupId, topics] of this.groups) {
      const o: [string, number, number][] = [];
      for (const [topic, partitions] of topics) {
        for (const [partition, offset] of partitions) o.push([topic, partition, offset]);
      }
      out.push(Buffer.from(JSON.stringify({ g: groupId, o } satisfies OffsetEntry), "utf8"));
    }
    return out;
  }
}
