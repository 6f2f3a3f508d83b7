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
import type { GroupCoordinator, GroupMember } from "./group-coordinator.js";
import type { OffsetStore } from "./offset-store.js";
import type { PartitionLog, ReadCursor } from "./partition-log.js";
import type { TopicRegistry } from "./topic-registry.js";

export interface ConsumerDeps {
  registry: TopicRegistry;
  offsets: OffsetStore;
  coordinator: GroupCoordinator;
  log: Logger;
  memberId: string;
  /** Called once the consumer has closed, so the transport can forget it. */
  onClosed(consumer: EmbeddedConsumer): void;
}

interface Position {
  tp: TopicPartition;
  offset: number;
  cursor?: ReadCursor | undefined;
}

/**
 * A group member on the embedded log. Rebalances happen inside `poll()` (like Kafka's Java
 * client): revoked partitions get `onRevoked` before they are released, claimed ones get
 * `onAssigned` after positions are set, so listeners never race the caller's processing.
 */
export class EmbeddedConsumer implements Consumer, GroupMember {
  readonly memberId: string;
  topics: readonly string[] = [];
  private listener: RebalanceListener = {};
  private readonly positions = new Map<string, Position>();
  private readonly pendingSeeks = new Map<string, number>();
  private readonly paused = new Set<string>();
  private isSubscribed = false;
  private groupChanged = false;
  private wakeup: (() => void) | null = null;
  private inflight: Promise<IncomingRecord[]> | null = null;
  private rotation = 0;
  private isClosed = false;
  private readonly autoOffsetReset: "earliest" | "latest";

  constructor(
    private readonly options: ConsumerOptions,
    private readonly deps: ConsumerDeps,
  ) {
    this.memberId = deps.memberId;
    this.autoOffsetReset = options.autoOffsetReset ?? "earliest";
  }

  async subscribe(topics: string[], listener?: RebalanceListener): Promise<void> {
    this.assertOpen();
    this.topics = [...new Set(topics)];
    if (listener !== undefined) this.listener = listener;
    this.isSubscribed = true;
    this.deps.coordinator.join(this.options.groupId, this);
  }

  onGroupChange(): void {
    this.groupChanged = true;
    this.wakeup?.();
  }

  poll(options: PollOptions = {}): Promise<IncomingRecord[]> {
    this.assertOpen();
    if (this.inflight !== null) {
      throw new SpikemeshError(
        "INVARIANT",
        `consumer ${this.memberId}: poll() called while a poll is running`,
      );
    }
    const run = this.pollLoop(options).finally(() => {
      this.inflight = null;
    });
    this.inflight = run;
    return run;
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    for (const o of offsets) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new SpikemeshError(
          "RECORD_INVALID",
          `commit offset ${o.offset} is not a non-negative integer`,
          {
            context: { topic: o.topic, partition: o.partition },
          },
        );
      }
    }
    this.deps.offsets.commit(this.options.groupId, offsets);
  }

  seek(position: TopicPartitionOffset): void {
    this.assertOpen();
    if (!Number.isSafeInteger(position.offset) || position.offset < 0) {
      throw new SpikemeshError(
        "RECORD_INVALID",
        `seek offset ${position.offset} is not a non-negative integer`,
        {
          context: { topic: position.topic, partition: position.partition },
        },
      );
    }
    const key = tpKey(position);
    const current = this.positions.get(key);
    if (current === undefined) this.pendingSeeks.set(key, position.offset);
    else {
      current.offset = position.offset;
      current.cursor = undefined;
    }
    this.wakeup?.();
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(tpKey(tp));
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(tpKey(tp));
    this.wakeup?.();
  }

  assignment(): TopicPartition[] {
    return [...this.positions.values()]
      .map((p) => ({ ...p.tp }))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  /** Stops a running poll, calls `onRevoked` for what it owns, and leaves the group. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.wakeup?.();
    await this.inflight?.catch(() => undefined);
    if (this.isSubscribed) {
      const owned = this.assignment();
      if (owned.length > 0) {
        try {
          await this.listener.onRevoked?.(owned);
        } catch (err) {
          this.deps.log.warn({ err, memberId: this.memberId }, "onRevoked failed while closing");
        }
      }
      this.positions.clear();
      this.deps.coordinator.leave(this.options.groupId, this.memberId);
    }
    this.deps.onClosed(this);
  }

  private async pollLoop(options: PollOptions): Promise<IncomingRecord[]> {
    const maxRecords = Math.max(1, options.maxRecords ?? 500);
    const deadline = performance.now() + Math.max(0, options.maxWaitMs ?? 100);
    const signal = options.signal;
    for (;;) {
      if (this.shouldStop(signal)) return [];
      if (this.groupChanged) await this.rebalance();
      if (this.shouldStop(signal)) return [];
      const records = this.fetch(maxRecords);
      const remaining = deadline - performance.now();
      if (records.length > 0 || remaining <= 0) return records;
      // Nothing awaited between fetch() and here, so no append can slip past the listeners.
      await this.waitForWake(remaining, signal);
    }
  }

  private async rebalance(): Promise<void> {
    const { coordinator } = this.deps;
    const groupId = this.options.groupId;
    this.groupChanged = false;
    for (;;) {
      const revoked = coordinator.toRevoke(groupId, this.memberId);
      if (revoked.length > 0) {
        try {
          await this.listener.onRevoked?.(revoked);
        } finally {
          for (const tp of revoked) this.positions.delete(tpKey(tp));
          coordinator.release(groupId, this.memberId, revoked);
        }
      }
      const claimed = coordinator.claim(groupId, this.memberId);
      for (const tp of claimed) this.positions.set(tpKey(tp), this.initialPosition(tp));
      if (claimed.length > 0) await this.listener.onAssigned?.(claimed);
      if (revoked.length === 0 && claimed.length === 0) return;
    }
  }

  private initialPosition(tp: TopicPartition): Position {
    const key = tpKey(tp);
    const sought = this.pendingSeeks.get(key);
    this.pendingSeeks.delete(key);
    const committed = this.deps.offsets.committedOffset(this.options.groupId, tp.topic, tp.partition);
    const offset = sought ?? committed ?? this.resetOffset(this.logOf(tp));
    return { tp, offset };
  }

  private resetOffset(log: PartitionLog | undefined): number {
    if (log === undefined) return 0;
    return this.autoOffsetReset === "earliest" ? log.lowOffset : log.highOffset;
  }

  private logOf(tp: TopicPartition): PartitionLog | undefined {
    return this.deps.registry.get(tp.topic)?.partitions[tp.partition];
  }

  /** Reads from assigned, unpaused partitions, starting one further each call for fairness. */
  private fetch(maxRecords: number): IncomingRecord[] {
    const active = [...this.positions.entries()].filter(([key]) => !this.paused.has(key));
    const out: IncomingRecord[] = [];
    const n = active.length;
    if (n === 0) return out;
    const start = this.rotation++ % n;
    for (let i = 0; i < n && out.length < maxRecords; i++) {
      const position = active[(start + i) % n]![1];
      const log = this.logOf(position.tp);
      if (log === undefined) continue;
      if (position.offset < log.lowOffset || position.offset > log.highOffset) {
        const offset = this.resetOffset(log);
        this.deps.log.info(
          {
            ...position.tp,
            position: position.offset,
            low: log.lowOffset,
            high: log.highOffset,
            resetTo: offset,
          },
          "offset out of range; resetting",
        );
        position.offset = offset;
        position.cursor = undefined;
      }
      if (position.offset >= log.highOffset) continue;
      const result = log.read(position.offset, maxRecords - out.length, position.cursor);
      for (const r of result.records) out.push(r);
      position.offset = result.nextOffset;
      position.cursor = result.cursor;
    }
    return out;
  }

  private waitForWake(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const logs: PartitionLog[] = [];
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        for (const log of logs) log.removeListener(done);
        if (this.wakeup === done) this.wakeup = null;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      for (const [key, position] of this.positions) {
        const log = this.paused.has(key) ? undefined : this.logOf(position.tp);
        if (log !== undefined) {
          log.addListener(done);
          logs.push(log);
        }
      }
      this.wakeup = done;
      if (this.groupChanged) done();
    });
  }

  private shouldStop(signal: AbortSignal | undefined): boolean {
    return this.isClosed || signal?.aborted === true;
  }

  private assertOpen(): void {
    if (this.isClosed) {
      throw new SpikemeshError(
        "CLOSED",
        `consumer ${this.memberId} of group ${this.options.groupId} is closed`,
      );
    }
  }
}
