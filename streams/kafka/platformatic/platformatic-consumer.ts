import {
  ConnectionPool,
  Consumer as PltConsumer,
  type ConsumerOptions as PltConsumerOptions,
} from "@platformatic/kafka";
import { SpikemeshError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import {
  type Consumer,
  type ConsumerOptions,
  type IncomingRecord,
  type PollOptions,
  type RebalanceListener,
  type TopicPartition,
  type TopicPartitionOffset,
  tpKey,
} from "../../transport/transport.js";
import { assertOffset } from "../kafka-records.js";
import { Wakeup } from "../wakeup.js";
import { fromPlatformaticError } from "./platformatic-errors.js";
import { type PlatformaticConsumerSettings, PlatformaticFetcher } from "./platformatic-fetcher.js";

type BaseOptions = Omit<PltConsumerOptions<Buffer, Buffer, string, string>, "groupId">;

export interface PlatformaticConsumerDeps {
  /** Connection, SASL/TLS, timeout and retry settings shared by every client of the transport. */
  base: BaseOptions;
  settings: PlatformaticConsumerSettings;
  log: Logger;
  onClosed(consumer: PlatformaticConsumer): void;
}

/**
 * A group member on Kafka through @platformatic/kafka: the client runs the classic group protocol
 * (round-robin assignment, heartbeats, rejoining on a rebalance) and a {@link PlatformaticFetcher}
 * fetches ahead into bounded per-partition buffers that `poll()` takes from.
 *
 * Rebalances reach the caller inside `poll()`, as with kafkajs and the embedded log: partitions
 * leaving get `onRevoked`, new ones `onAssigned` once their start position is fixed, and
 * partitions kept across a rebalance continue where fetching stopped. The client rejoins as soon
 * as a heartbeat reports the rebalance, so `onRevoked` runs after the group moved on: the new
 * owner starts from the last commit, and records the old owner commits in `onRevoked` may be read
 * twice (at-least-once; transactional producers fence the old owner).
 */
export class PlatformaticConsumer implements Consumer {
  private readonly pool: ConnectionPool;
  private readonly fetcher: PlatformaticFetcher;
  private readonly wakeup = new Wakeup();
  private listener: RebalanceListener = {};
  private isSubscribed = false;
  private isClosed = false;
  private inflight: Promise<IncomingRecord[]> | null = null;

  constructor(
    private readonly options: ConsumerOptions,
    private readonly deps: PlatformaticConsumerDeps,
  ) {
    const s = deps.settings;
    const createClient = () =>
      new PltConsumer<Buffer, Buffer, string, string>({
        ...deps.base,
        groupId: options.groupId,
        autocommit: false,
        sessionTimeout: s.sessionTimeoutMs,
        rebalanceTimeout: s.rebalanceTimeoutMs,
        heartbeatInterval: s.heartbeatIntervalMs,
      });
    const { clientId, bootstrapBrokers: _brokers, ...connection } = deps.base;
    this.pool = new ConnectionPool(`${clientId}-fetch`, connection);
    this.fetcher = new PlatformaticFetcher({
      createClient,
      pool: this.pool,
      groupId: options.groupId,
      readCommitted: options.readCommitted ?? true,
      settings: s,
      log: deps.log,
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
    this.fetcher.start([...new Set(topics)], (this.options.autoOffsetReset ?? "earliest") === "earliest");
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
    try {
      await this.fetcher.member.client.commit({
        offsets: offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: BigInt(o.offset),
          leaderEpoch: -1,
        })),
      });
    } catch (err) {
      this.fetcher.member.recover(err);
      throw fromPlatformaticError(err, `committing offsets of group ${this.options.groupId}`);
    }
  }

  seek(position: TopicPartitionOffset): void {
    this.assertOpen();
    assertOffset(position, "seek");
    const key = tpKey(position);
    if (this.fetcher.membership.inGroup(key)) this.fetcher.seek(key, position.offset);
    else this.fetcher.membership.deferSeek(key, position.offset);
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
        this.deps.log.warn({ err, groupId: this.options.groupId }, "onRevoked failed while closing");
      }
    }
    this.fetcher.membership.releaseAll();
    try {
      await this.fetcher.stop();
      await this.pool.close();
    } catch (err) {
      this.deps.log.warn({ err, groupId: this.options.groupId }, "closing the consumer failed");
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

  /** Takes from owned, unpaused partitions; fetching resumes for those drained below half. */
  private take(maxRecords: number): IncomingRecord[] {
    const { buffers, membership } = this.fetcher;
    const keys = membership.deliverable().filter((key) => !this.fetcher.isPausedByUser(key));
    return buffers.takeFrom(keys, maxRecords, (key) => this.fetcher.drained(key));
  }

  private shouldStop(signal: AbortSignal | undefined): boolean {
    return this.isClosed || signal?.aborted === true;
  }

  private assertOpen(): void {
    if (this.isClosed)
      throw new SpikemeshError("CLOSED", `consumer of group ${this.options.groupId} is closed`);
  }
}
