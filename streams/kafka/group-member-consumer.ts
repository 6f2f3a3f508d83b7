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
import type { GroupAssignment } from "./group-assignment.js";
import { assertOffset } from "./kafka-records.js";
import { Wakeup } from "./wakeup.js";

/**
 * The fetching side a {@link GroupMemberConsumer} drives, one per Kafka client library: it keeps
 * the group's assignment, fetches ahead into bounded per-partition buffers, and wakes the consumer
 * (`onChange`) when records or group events arrive.
 */
export interface MemberFetcher {
  readonly membership: GroupAssignment;
  /** Set when fetching failed for good; the next poll throws it. */
  readonly crash: SpikemeshError | null;
  /** Next records of the partition `key` start at `offset`. */
  seek(key: string, offset: number): void;
  pauseByUser(key: string): void;
  resumeByUser(key: string): void;
  isPausedByUser(key: string): boolean;
  /** Up to `maxRecords` buffered records of `keys`; partitions drained below half fetch again. */
  take(keys: string[], maxRecords: number): IncomingRecord[];
  /** Resolves once the consumer has joined its group (at once when it has, or has stopped). */
  whenJoined(): Promise<void>;
}

/**
 * A group member on Kafka, the part both client libraries share: `poll()` takes from the fetcher's
 * buffers, and rebalances reach the caller inside `poll()`, as on the embedded log: partitions
 * leaving get `onRevoked`, new ones `onAssigned` once their start position is fixed, and
 * partitions kept across a rebalance continue where fetching stopped. A subclass starts, commits
 * through and stops its client.
 */
export abstract class GroupMemberConsumer implements Consumer {
  protected abstract readonly fetcher: MemberFetcher;
  /** Woken by the fetcher's `onChange`, by seek/resume and by close. */
  protected readonly wakeup = new Wakeup();
  private listener: RebalanceListener = {};
  private isSubscribed = false;
  private isClosed = false;
  private inflight: Promise<IncomingRecord[]> | null = null;

  constructor(
    protected readonly options: ConsumerOptions,
    protected readonly log: Logger,
  ) {}

  /** Starts the client on `topics`: joining the group and fetching run in the background. */
  protected abstract startFetching(topics: string[], fromEarliest: boolean): Promise<void> | void;
  /** Commits through the client (the member has joined); throws a SpikemeshError on failure. */
  protected abstract commitJoined(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Stops fetching and leaves the group; the caller logs a failure. */
  protected abstract stopFetching(): Promise<void>;
  /** Called last by close(), whatever happened. */
  protected abstract onClosed(): void;

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
    await this.startFetching(
      [...new Set(topics)],
      (this.options.autoOffsetReset ?? "earliest") === "earliest",
    );
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
    await this.fetcher.whenJoined();
    this.assertOpen();
    await this.commitJoined(offsets);
  }

  seek(position: TopicPartitionOffset): void {
    this.assertOpen();
    assertOffset(position, "seek");
    const key = tpKey(position);
    const { membership } = this.fetcher;
    if (membership.inGroup(key)) this.fetcher.seek(key, position.offset);
    else membership.deferSeek(key, position.offset);
    this.wakeup.wake();
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.fetcher.pauseByUser(tpKey(tp));
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.fetcher.resumeByUser(tpKey(tp));
    this.wakeup.wake();
  }

  assignment(): TopicPartition[] {
    return this.fetcher.membership.ownedPartitions();
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
        this.log.warn({ err, groupId: this.options.groupId }, "onRevoked failed while closing");
      }
    }
    this.fetcher.membership.releaseAll();
    try {
      await this.stopFetching();
    } catch (err) {
      this.log.warn({ err, groupId: this.options.groupId }, "closing the consumer failed");
    } finally {
      this.onClosed();
    }
  }

  private async pollLoop(options: PollOptions): Promise<IncomingRecord[]> {
    const maxRecords = Math.max(1, options.maxRecords ?? 500);
    const deadline = performance.now() + Math.max(0, options.maxWaitMs ?? 100);
    const signal = options.signal;
    for (;;) {
      if (this.shouldStop(signal)) return [];
      if (this.fetcher.crash !== null) throw this.fetcher.crash;
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
    const { membership } = this.fetcher;
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

  /** Takes from owned, unpaused partitions. */
  private take(maxRecords: number): IncomingRecord[] {
    const keys = this.fetcher.membership.deliverable().filter((key) => !this.fetcher.isPausedByUser(key));
    return this.fetcher.take(keys, maxRecords);
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
