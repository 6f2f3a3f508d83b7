import { SpikemeshError } from "../errors.js";
import type { Logger } from "../logger.js";
import {
  type Consumer,
  type ConsumerOptions,
  type IncomingRecord,
  type PollOptions,
  type RebalanceListener,
  type TopicPartition,
  type TopicPartitionOffset,
  tpKey,
} from "../transport/transport.js";
import { fromKafkaError } from "./kafka-errors.js";
import { KafkaFeed, type KafkaFeedOptions } from "./kafka-feed.js";
import { assertOffset } from "./kafka-records.js";
import { Wakeup } from "./wakeup.js";

export interface KafkaConsumerDeps extends Omit<KafkaFeedOptions, "groupId" | "readCommitted" | "onChange"> {
  log: Logger;
  onClosed(consumer: KafkaConsumer): void;
}

/**
 * A group member on Kafka: kafkajs's push loop fills bounded per-partition buffers (see
 * {@link KafkaFeed}) and `poll()` takes from them; a full buffer pauses fetching that partition
 * until poll drains it below half.
 *
 * Rebalances reach the caller inside `poll()`, as on the embedded log: partitions leaving get
 * `onRevoked`, new ones `onAssigned` once their start position is fixed, and partitions kept
 * across a rebalance continue where fetching stopped instead of going back to the committed
 * offset. kafkajs rejoins as soon as it sees a rebalance, so `onRevoked` runs after the group
 * has moved on: the new owner starts from the last commit, and records the old owner commits in
 * `onRevoked` may be read twice (at-least-once; transactional producers fence the old owner).
 */
export class KafkaConsumer implements Consumer {
  private readonly feed: KafkaFeed;
  private readonly wakeup = new Wakeup();
  private listener: RebalanceListener = {};
  private isSubscribed = false;
  private isClosed = false;
  private inflight: Promise<IncomingRecord[]> | null = null;

  constructor(
    private readonly options: ConsumerOptions,
    private readonly deps: KafkaConsumerDeps,
  ) {
    this.feed = new KafkaFeed({
      ...deps,
      groupId: options.groupId,
      readCommitted: options.readCommitted ?? true,
      onChange: () => this.wakeup.wake(),
    });
  }

  /** Joins the group in the background; partitions arrive through `poll()`. Call once. */
  async subscribe(topics: string[], listener?: RebalanceListener): Promise<void> {
    this.assertOpen();
    if (this.isSubscribed) {
      throw new SpikemeshError(
        "INVARIANT",
        `consumer of group ${this.options.groupId} is already subscribed`,
      );
    }
    this.isSubscribed = true;
    if (listener !== undefined) this.listener = listener;
    await this.feed.start([...new Set(topics)], (this.options.autoOffsetReset ?? "earliest") === "earliest");
  }

  poll(options: PollOptions = {}): Promise<IncomingRecord[]> {
    this.assertOpen();
    if (this.inflight !== null) {
      throw new SpikemeshError(
        "INVARIANT",
        `consumer of group ${this.options.groupId}: poll() called while a poll is running`,
      );
    }
    const run = this.pollLoop(options).finally(() => {
      this.inflight = null;
    });
    this.inflight = run;
    return run;
  }

  /** Commits once the consumer has joined its group; before that, waits for the join. */
  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    for (const o of offsets) assertOffset(o, "commit");
    if (!this.isSubscribed) {
      throw new SpikemeshError(
        "INVARIANT",
        `consumer of group ${this.options.groupId}: commit() before subscribe()`,
      );
    }
    if (offsets.length === 0) return;
    await this.feed.whenJoined();
    this.assertOpen();
    try {
      await this.feed.commit(offsets);
    } catch (err) {
      const mapped = fromKafkaError(err, `committing offsets of group ${this.options.groupId}`);
      if (!this.feed.isRestarting) throw mapped;
      throw new SpikemeshError("TRANSIENT", `${mapped.message} (the consumer is restarting)`, {
        retriable: true,
        cause: err,
      });
    }
  }

  seek(position: TopicPartitionOffset): void {
    this.assertOpen();
    assertOffset(position, "seek");
    const key = tpKey(position);
    if (this.feed.membership.inGroup(key)) this.feed.seek(key, position.offset);
    else this.feed.membership.deferSeek(key, position.offset);
    this.wakeup.wake();
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.feed.fetching.pauseByUser(tpKey(tp));
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.feed.fetching.resumeByUser(tpKey(tp));
    this.wakeup.wake();
  }

  assignment(): TopicPartition[] {
    return this.feed.membership.ownedPartitions();
  }

  /** Stops a running poll, calls `onRevoked` for what the caller owns, and leaves the group. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.wakeup.wake();
    await this.inflight?.catch(() => undefined);
    const owned = this.assignment();
    if (owned.length > 0) {
      try {
        await this.listener.onRevoked?.(owned);
      } catch (err) {
        this.deps.log.warn({ err, groupId: this.options.groupId }, "onRevoked failed while closing");
      }
    }
    this.feed.membership.releaseAll();
    try {
      await this.feed.stop();
    } catch (err) {
      this.deps.log.warn({ err, groupId: this.options.groupId }, "disconnecting the consumer failed");
    } finally {
      this.deps.onClosed(this);
    }
  }

  private async pollLoop(options: PollOptions): Promise<IncomingRecord[]> {
    const maxRecords = Math.max(1, options.maxRecords ?? 500);
    const deadline = performance.now() + Math.max(0, options.maxWaitMs ?? 100);
    const signal = options.signal;
    for (;;) {
      if (this.shouldStop(signal)) return [];
      if (this.feed.crash !== null) throw this.feed.crash;
      await this.applyGroupChanges();
      if (this.shouldStop(signal)) return [];
      const records = this.take(maxRecords);
      const remaining = deadline - performance.now();
      if (records.length > 0 || remaining <= 0) return records;
      await this.wakeup.wait(remaining, signal);
    }
  }

  /** Tells the caller what the last join changed: revocations first, then assignments. */
  private async applyGroupChanges(): Promise<void> {
    const { membership } = this.feed;
    const revoked = membership.toRevoke();
    if (revoked.length > 0) {
      try {
        await this.listener.onRevoked?.(revoked);
      } finally {
        membership.released(revoked);
      }
    }
    if (this.isClosed) return;
    const added = membership.toAssign();
    if (added.length === 0) return;
    membership.claimed(added);
    await this.listener.onAssigned?.(added);
  }

  /** Takes from owned, unpaused partitions and resumes fetching those drained below half. */
  private take(maxRecords: number): IncomingRecord[] {
    const { buffers, fetching, membership } = this.feed;
    const keys = membership.deliverable().filter((key) => !fetching.isPausedByUser(key));
    return buffers.takeFrom(keys, maxRecords, (key) => {
      if (fetching.isBufferFull(key) && buffers.isLow(key)) fetching.setBufferFull(key, false);
    });
  }

  private shouldStop(signal: AbortSignal | undefined): boolean {
    return this.isClosed || signal?.aborted === true;
  }

  private assertOpen(): void {
    if (this.isClosed) {
      throw new SpikemeshError("CLOSED", `consumer of group ${this.options.groupId} is closed`);
    }
  }
}
