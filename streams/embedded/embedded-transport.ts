import { mkdirSync } from "node:fs";
import { type Clock, systemClock } from "../clock.js";
import { SpikemeshError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";
import { KeyPartitioner } from "../transport/partitioner.js";
import type {
  Admin,
  Consumer,
  ConsumerOptions,
  Producer,
  ProducerOptions,
  Transport,
} from "../transport/transport.js";
import { DataDirLock } from "./data-dir-lock.js";
import { EmbeddedAdmin } from "./embedded-admin.js";
import { EmbeddedConsumer } from "./embedded-consumer.js";
import { EmbeddedProducer } from "./embedded-producer.js";
import { GroupCoordinator } from "./group-coordinator.js";
import { applyRetention, type CleanResult, compactLog } from "./log-cleaner.js";
import { OffsetStore } from "./offset-store.js";
import type { SegmentOptions } from "./segment.js";
import { TopicRegistry } from "./topic-registry.js";
import { TransactionJournal } from "./transaction-journal.js";

export interface EmbeddedTransportOptions {
  /** Directory of the log; created if missing and locked against other processes. */
  dataDir: string;
  /** Default: a silent logger. */
  logger?: Logger;
  /** Default timestamps, retention and tombstone ages. Default: the system clock. */
  clock?: Clock;
  /** fdatasync every segment append, offset commit and journal write (survives power loss). Default false. */
  fsync?: boolean;
  /** Run `maintain()` on a timer every this many ms (unref'd). Default: no timer; call `maintain()` yourself. */
  maintenanceIntervalMs?: number;
  /** How long a tombstone stays readable in a compacted topic, measured from its timestamp. Default 86 400 000 (24 h). */
  deleteRetentionMs?: number;
  /** Largest encoded record accepted by `send`, in bytes. Default 16 MiB. */
  maxRecordBytes?: number;
  /** Bytes between sparse index entries of a segment. Default 4096. */
  indexIntervalBytes?: number;
}

/** Totals of one `maintain()` pass over every partition. */
export interface MaintenanceResult extends CleanResult {
  partitions: number;
}

let transportSeq = 0;

/**
 * The embedded runtime's transport: an on-disk partitioned, append-only log in one process.
 * Layout of `dataDir`: `LOCK`, `topics/<topic>/topic.json`, `topics/<topic>/<partition>/<base
 * offset>.log` segments, `consumer-offsets.log`, `transactions.log`. Opening recovers every
 * segment (torn tails are cut with a warning) and replays an interrupted transaction.
 */
export class EmbeddedTransport implements Transport {
  readonly kind = "embedded" as const;
  readonly dataDir: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly lock: DataDirLock;
  private readonly registry: TopicRegistry;
  private readonly offsets: OffsetStore;
  private readonly journal: TransactionJournal;
  private readonly coordinator: GroupCoordinator;
  private readonly segmentOptions: SegmentOptions;
  private readonly producers = new Set<EmbeddedProducer>();
  private readonly consumers = new Set<EmbeddedConsumer>();
  private readonly epochs = new Map<string, number>();
  private readonly partitioner = new KeyPartitioner();
  private readonly deleteRetentionMs: number;
  private readonly maxRecordBytes: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly id = ++transportSeq;
  private memberSeq = 0;
  private isClosed = false;

  /** Opens (or creates) the data dir; throws CONFIG_INVALID when another process holds it. */
  constructor(options: EmbeddedTransportOptions) {
    this.dataDir = options.dataDir;
    this.log = (options.logger ?? silentLogger()).child({ component: "embedded-log" });
    this.clock = options.clock ?? systemClock;
    this.deleteRetentionMs = options.deleteRetentionMs ?? 86_400_000;
    this.maxRecordBytes = options.maxRecordBytes ?? 16 * 1024 * 1024;
    const fsync = options.fsync ?? false;
    this.segmentOptions = { fsync, indexIntervalBytes: options.indexIntervalBytes ?? 4096 };
    mkdirSync(this.dataDir, { recursive: true });
    this.lock = DataDirLock.acquire(this.dataDir, this.log);
    try {
      this.registry = new TopicRegistry(this.dataDir, this.segmentOptions, this.log);
      this.offsets = OffsetStore.open(this.dataDir, fsync, this.log);
      this.journal = TransactionJournal.open(this.dataDir, fsync, this.log);
      this.journal.recover(this.registry, this.offsets, this.log);
    } catch (err) {
      this.lock.release();
      throw err;
    }
    this.coordinator = new GroupCoordinator((topic) => this.registry.get(topic)?.config.partitions);
    const every = options.maintenanceIntervalMs;
    if (every !== undefined && every > 0) {
      this.timer = setInterval(() => this.maintainSafely(), every);
      this.timer.unref();
    }
  }

  admin(): Admin {
    this.assertOpen();
    return new EmbeddedAdmin({
      registry: this.registry,
      offsets: this.offsets,
      coordinator: this.coordinator,
      assertOpen: () => this.assertOpen(),
    });
  }

  producer(options: ProducerOptions = {}): Producer {
    this.assertOpen();
    const producer = new EmbeddedProducer(options, {
      registry: this.registry,
      partitioner: this.partitioner,
      clock: this.clock,
      maxRecordBytes: this.maxRecordBytes,
      offsets: this.offsets,
      journal: this.journal,
      epochs: this.epochs,
      onClosed: (p) => this.producers.delete(p),
    });
    this.producers.add(producer);
    return producer;
  }

  consumer(options: ConsumerOptions): Consumer {
    this.assertOpen();
    const memberId = `${options.groupId}-${this.id}-${String(++this.memberSeq).padStart(8, "0")}`;
    const consumer = new EmbeddedConsumer(options, {
      registry: this.registry,
      offsets: this.offsets,
      coordinator: this.coordinator,
      log: this.log.child({ groupId: options.groupId, memberId }),
      memberId,
      onClosed: (c) => this.consumers.delete(c),
    });
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * Applies retention (delete topics) and compaction (compact topics) to every partition, now.
   * Synchronous underneath; the runtime calls it periodically (or set `maintenanceIntervalMs`).
   */
  maintain(): MaintenanceResult {
    this.assertOpen();
    const total: MaintenanceResult = {
      partitions: 0,
      segmentsDeleted: 0,
      segmentsRewritten: 0,
      recordsRemoved: 0,
    };
    const now = this.clock.nowMs();
    for (const topic of this.registry.all()) {
      for (const partition of topic.partitions) {
        const r =
          topic.config.cleanupPolicy === "compact"
            ? compactLog(partition, now, this.deleteRetentionMs, this.segmentOptions, this.log)
            : applyRetention(partition, topic.config, now);
        total.partitions++;
        total.segmentsDeleted += r.segmentsDeleted;
        total.segmentsRewritten += r.segmentsRewritten;
        total.recordsRemoved += r.recordsRemoved;
      }
    }
    if (total.segmentsDeleted + total.segmentsRewritten > 0)
      this.log.debug(total, "embedded log: maintenance");
    return total;
  }

  /** Closes consumers (their `onRevoked` runs), producers, files, and releases the lock. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    await Promise.all([...this.consumers].map((c) => c.close()));
    await Promise.all([...this.producers].map((p) => p.close()));
    this.isClosed = true;
    this.registry.close();
    this.offsets.close();
    this.journal.close();
    this.lock.release();
  }

  private maintainSafely(): void {
    try {
      this.maintain();
    } catch (err) {
      this.log.error({ err }, "embedded log: maintenance failed");
    }
  }

  private assertOpen(): void {
    if (this.isClosed) throw new SpikemeshError("CLOSED", `embedded transport on ${this.dataDir} is closed`);
  }
}
