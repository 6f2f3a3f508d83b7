import {
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { SpikemeshError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { CleanupPolicy, TopicConfig } from "../transport/transport.js";
import { PartitionLog } from "./partition-log.js";
import type { SegmentOptions } from "./segment.js";

/** A topic's configuration with every default filled in; persisted as `topic.json`. */
export interface ResolvedTopicConfig {
  name: string;
  partitions: number;
  cleanupPolicy: CleanupPolicy;
  /** -1 keeps forever. */
  retentionMs: number;
  /** -1 keeps everything. */
  retentionBytes: number;
  segmentBytes: number;
}

export interface EmbeddedTopic {
  config: ResolvedTopicConfig;
  partitions: PartitionLog[];
}

/** Default segment size: 64 MiB, like the interface says. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Segment positions are 32-bit in the index arithmetic we rely on; keep segments below 2 GiB. */
const MAX_SEGMENT_BYTES = 2 ** 31 - 1;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

function invalid(field: string, message: string, topic?: string): SpikemeshError {
  return new SpikemeshError("CONFIG_INVALID", message, {
    context: topic === undefined ? { field } : { field, topic },
  });
}

/** Validates a topic config and fills in defaults; throws CONFIG_INVALID naming the field. */
export function resolveTopicConfig(config: TopicConfig): ResolvedTopicConfig {
  const { name } = config;
  if (!TOPIC_NAME.test(name) || name === "." || name === "..") {
    throw invalid("name", `topic name "${name}" must be 1-249 characters of [a-zA-Z0-9._-]`);
  }
  const partitions = config.partitions ?? 1;
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw invalid("partitions", `topic ${name}: partitions must be an integer ≥ 1, got ${partitions}`, name);
  }
  const cleanupPolicy = config.cleanupPolicy ?? "delete";
  if (cleanupPolicy !== "delete" && cleanupPolicy !== "compact") {
    throw invalid("cleanupPolicy", `topic ${name}: cleanupPolicy must be "delete" or "compact"`, name);
  }
  const retentionMs = config.retentionMs ?? -1;
  const retentionBytes = config.retentionBytes ?? -1;
  for (const [field, v] of [
    ["retentionMs", retentionMs],
    ["retentionBytes", retentionBytes],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < -1) {
      throw invalid(field, `topic ${name}: ${field} must be -1 or a non-negative integer, got ${v}`, name);
    }
  }
  const segmentBytes = config.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isInteger(segmentBytes) || segmentBytes < 1 || segmentBytes > MAX_SEGMENT_BYTES) {
    throw invalid(
      "segmentBytes",
      `topic ${name}: segmentBytes must be in [1, 2^31-1], got ${segmentBytes}`,
      name,
    );
  }
  return { name, partitions, cleanupPolicy, retentionMs, retentionBytes, segmentBytes };
}

/** Writes `data` to `path` atomically: temp file, optional fsync, rename. */
export function writeFileAtomic(path: string, data: string, fsync: boolean): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, data);
    if (fsync) fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * The topics of a data dir: `topics/<name>/topic.json` plus one directory per partition.
 * `topic.json` is written last on create and the directory is moved to `trash/` first on delete,
 * so an interrupted create or delete never leaves a half topic behind after reopening.
 */
export class TopicRegistry {
  private readonly topics = new Map<string, EmbeddedTopic>();
  private readonly topicsDir: string;
  private readonly trashDir: string;
  private trashed = 0;

  constructor(
    dataDir: string,
    private readonly segmentOptions: SegmentOptions,
    private readonly log: Logger,
  ) {
    this.topicsDir = join(dataDir, "topics");
    this.trashDir = join(dataDir, "trash");
    rmSync(this.trashDir, { recursive: true, force: true });
    mkdirSync(this.topicsDir, { recursive: true });
    for (const name of readdirSync(this.topicsDir)) {
      const metaPath = join(this.topicsDir, name, "topic.json");
      if (!existsSync(metaPath)) {
        log.warn({ dir: join(this.topicsDir, name) }, "embedded log: removing half-created topic");
        rmSync(join(this.topicsDir, name), { recursive: true, force: true });
        continue;
      }
      const config = resolveTopicConfig(JSON.parse(readFileSync(metaPath, "utf8")) as TopicConfig);
      this.topics.set(name, { config, partitions: this.openPartitions(config) });
    }
  }

  /** Creates a topic unless it exists; returns whether it was created. */
  create(input: TopicConfig): boolean {
    const config = resolveTopicConfig(input);
    if (this.topics.has(config.name)) return false;
    const dir = join(this.topicsDir, config.name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const partitions = this.openPartitions(config);
    writeFileAtomic(join(dir, "topic.json"), JSON.stringify(config, null, 2), this.segmentOptions.fsync);
    this.topics.set(config.name, { config, partitions });
    return true;
  }

  get(name: string): EmbeddedTopic | undefined {
    return this.topics.get(name);
  }

  /** The topic, or SpikemeshError TOPIC_UNKNOWN. */
  require(name: string): EmbeddedTopic {
    const topic = this.topics.get(name);
    if (topic === undefined) {
      throw new SpikemeshError("TOPIC_UNKNOWN", `topic ${name} does not exist; create it first`, {
        context: { topic: name },
      });
    }
    return topic;
  }

  names(): string[] {
    return [...this.topics.keys()].sort();
  }

  all(): IterableIterator<EmbeddedTopic> {
    return this.topics.values();
  }

  /** Deletes a topic's files; returns whether it existed. */
  delete(name: string): boolean {
    const topic = this.topics.get(name);
    if (topic === undefined) return false;
    this.topics.delete(name);
    for (const p of topic.partitions) p.close();
    mkdirSync(this.trashDir, { recursive: true });
    const trashPath = join(this.trashDir, `${this.trashed++}-${name}`);
    renameSync(join(this.topicsDir, name), trashPath);
    rmSync(trashPath, { recursive: true, force: true });
    return true;
  }

  close(): void {
    for (const topic of this.topics.values()) for (const p of topic.partitions) p.close();
    this.topics.clear();
  }

  private openPartitions(config: ResolvedTopicConfig): PartitionLog[] {
    const options = { ...this.segmentOptions, segmentBytes: config.segmentBytes };
    const out: PartitionLog[] = [];
    for (let p = 0; p < config.partitions; p++) {
      out.push(
        PartitionLog.open(join(this.topicsDir, config.name, String(p)), config.name, p, options, this.log),
      );
    }
    return out;
  }
}
