import {
  type ConnectionPool,
  FetchIsolationLevels,
  type fetchV17,
  ListOffsetTimestamps,
} from "@platformatic/kafka";
import type { SpikemeshError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { type IncomingRecord, type TopicPartition, tpKey } from "../../transport/transport.js";
import { FetchBuffers } from "../fetch-buffer.js";
import { GroupAssignment } from "../group-assignment.js";
import type { MemberFetcher } from "../group-member-consumer.js";
import { Wakeup } from "../wakeup.js";
import { fromPlatformaticError, hasProtocolError } from "./platformatic-errors.js";
import { GroupMember, type PltGroupClient } from "./platformatic-membership.js";
import { dropAborted, nextFetchOffset, toIncomingRecords } from "./platformatic-records.js";

/** Group and fetch tuning; see PlatformaticTransportOptions for the defaults. */
export interface PlatformaticConsumerSettings {
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
  maxBufferedRecords: number;
  maxBufferedBytes: number;
  /** Largest fetch response, and largest share of one partition in it, in bytes. */
  maxFetchBytes: number;
  maxPartitionFetchBytes: number;
}

export interface PlatformaticFetcherOptions {
  /** Makes the group client; a new one replaces a client that lost its coordinator. */
  createClient(): PltGroupClient;
  /** Fetches get connections of their own, so a long poll never delays heartbeats or joins. */
  pool: ConnectionPool;
  groupId: string;
  readCommitted: boolean;
  settings: PlatformaticConsumerSettings;
  log: Logger;
  /** Called whenever records arrive or the group changes, to wake a waiting poll. */
  onChange(): void;
}

const split = (key: string): TopicPartition => {
  const at = key.lastIndexOf("/");
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
};

type FetchResponse = fetchV17.FetchResponse;

/**
 * The fetching side of a PlatformaticConsumer. The client keeps the group membership (join,
 * sync, heartbeats, rejoining on a rebalance); this class keeps every assigned partition's
 * position, fetches ahead with the client's low-level `fetch` into bounded per-partition buffers,
 * one request per leader at a time, and fixes where new partitions start (committed offset, or
 * the reset policy). A partition is fetched while it is assigned, has a position, is not paused by
 * the caller and its buffer is not full; it goes on at its position when a rebalance keeps it.
 */
export class PlatformaticFetcher implements MemberFetcher {
  readonly buffers: FetchBuffers;
  readonly membership = new GroupAssignment();
  readonly member: GroupMember;
  /** Set when fetching or rejoining failed for good. */
  crash: SpikemeshError | null = null;
  private readonly userPaused = new Set<string>();
  private readonly bufferFull = new Set<string>();
  private readonly wakeup = new Wakeup();
  private assigned: string[] = [];
  private topics: string[] = [];
  private joinSeq = 0;
  private resetToEarliest = true;
  private isRunning = false;
  private loop: Promise<void> | null = null;
  private joinWaiters: (() => void)[] = [];

  constructor(private readonly options: PlatformaticFetcherOptions) {
    const s = options.settings;
    this.buffers = new FetchBuffers({ maxRecords: s.maxBufferedRecords, maxBytes: s.maxBufferedBytes });
    this.member = new GroupMember({
      createClient: options.createClient,
      groupId: options.groupId,
      log: options.log,
      onJoin: (assignments) => this.onJoin(assignments),
      onRebalance: () => {
        this.membership.rebalancing();
        this.assigned = [];
        options.onChange();
      },
      onFatal: (err) => this.fail(err, `joining group ${options.groupId}`),
    });
  }

  /** The current group client; any client of the group can fetch, list offsets and read metadata. */
  private get client(): PltGroupClient {
    return this.member.client;
  }

  /** Joins the group in the background and starts fetching once partitions are assigned. */
  start(topics: string[], fromBeginning: boolean): void {
    this.topics = topics;
    this.resetToEarliest = fromBeginning;
    this.isRunning = true;
    this.member.start(topics);
    this.loop = this.run();
  }

  /** Resolves after the first join, or on stop. */
  async whenJoined(): Promise<void> {
    if (this.membership.hasJoined || !this.isRunning) return;
    await new Promise<void>((resolve) => this.joinWaiters.push(resolve));
  }

  /** Drops what is buffered for the partition and fetches from `offset` next. */
  seek(key: string, offset: number): void {
    this.buffers.reset(key, offset);
    this.bufferFull.delete(key);
    this.wakeup.wake();
  }

  isPausedByUser(key: string): boolean {
    return this.userPaused.has(key);
  }

  pauseByUser(key: string): void {
    this.userPaused.add(key);
  }

  resumeByUser(key: string): void {
    this.userPaused.delete(key);
    this.wakeup.wake();
  }

  /** Takes buffered records of `keys`; a full partition drained below half is fetched again. */
  take(keys: string[], maxRecords: number): IncomingRecord[] {
    return this.buffers.takeFrom(keys, maxRecords, (key) => this.drained(key));
  }

  /** After poll took records: a full partition drained below half is fetched again. */
  private drained(key: string): void {
    if (this.bufferFull.has(key) && this.buffers.isLow(key)) {
      this.bufferFull.delete(key);
      this.wakeup.wake();
    }
  }

  /** Stops fetching (an in-flight fetch ends within maxWaitTimeMs), then leaves the group. */
  async stop(): Promise<void> {
    this.isRunning = false;
    this.wakeup.wake();
    for (const wake of this.joinWaiters.splice(0)) wake();
    await this.loop;
    await this.member.stop();
  }

  private fail(err: unknown, what: string): void {
    if (!this.isRunning) return;
    this.crash = fromPlatformaticError(err, what);
    this.options.onChange();
  }

  private onJoin(assignments: { topic: string; partitions: number[] }[]): void {
    const byTopic: Record<string, number[]> = {};
    for (const a of assignments) byTopic[a.topic] = [...(byTopic[a.topic] ?? []), ...a.partitions];
    const keys = this.membership.joined(byTopic);
    this.assigned = keys;
    const assigned = new Set(keys);
    for (const key of this.buffers.keys()) {
      if (assigned.has(key)) continue;
      this.buffers.delete(key);
      this.bufferFull.delete(key);
    }
    const unknown: string[] = [];
    for (const key of keys) {
      const sought = this.membership.takeDeferredSeek(key);
      if (sought !== undefined) this.seek(key, sought);
      else if (this.buffers.fetchPosition(key) === undefined) unknown.push(key);
    }
    const seq = ++this.joinSeq;
    this.startPositions(seq, unknown).then(
      () => {
        if (seq !== this.joinSeq) return;
        this.membership.fetched();
        for (const wake of this.joinWaiters.splice(0)) wake();
        this.wakeup.wake();
        this.options.onChange();
      },
      (err: unknown) => this.fail(err, `finding start offsets for group ${this.options.groupId}`),
    );
  }

  /** Committed offsets of new partitions, else the earliest or latest offset (autoOffsetReset). */
  private async startPositions(seq: number, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const byTopic = new Map<string, number[]>();
    for (const key of keys) {
      const { topic, partition } = split(key);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    }
    const committed = await this.client.listCommittedOffsets({
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    });
    if (seq !== this.joinSeq) return;
    const missing = new Map<string, number[]>();
    for (const key of keys) {
      const { topic, partition } = split(key);
      const offset = committed.get(topic)?.[partition];
      if (offset !== undefined && offset >= 0n) this.setStart(key, Number(offset));
      else missing.set(topic, [...(missing.get(topic) ?? []), partition]);
    }
    if (missing.size === 0) return;
    await this.resetPositions(missing);
  }

  /** Sets positions from the reset policy (no commit, or the position fell out of the log). */
  private async resetPositions(byTopic: Map<string, number[]>, onlyIf?: Map<string, number>): Promise<void> {
    const offsets = await this.client.listOffsets({
      topics: [...byTopic.keys()],
      partitions: Object.fromEntries(byTopic),
      timestamp: this.resetToEarliest ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
    });
    for (const [topic, partitions] of byTopic) {
      for (const partition of partitions) {
        const key = tpKey({ topic, partition });
        const offset = offsets.get(topic)?.[partition];
        if (offset === undefined) continue;
        if (onlyIf !== undefined) {
          // Out of range: reset only if nobody moved the partition meanwhile.
          if (this.buffers.fetchPosition(key) === onlyIf.get(key)) this.seek(key, Number(offset));
        } else this.setStart(key, Number(offset));
      }
    }
  }

  private setStart(key: string, offset: number): void {
    // A seek made while the lookup ran wins.
    if (this.buffers.fetchPosition(key) === undefined && this.membership.inGroup(key)) {
      this.buffers.reset(key, offset);
    }
  }

  private fetchable(): string[] {
    return this.assigned.filter(
      (key) =>
        this.membership.inGroup(key) &&
        this.buffers.fetchPosition(key) !== undefined &&
        !this.userPaused.has(key) &&
        !this.bufferFull.has(key),
    );
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.isRunning) {
      const keys = this.fetchable();
      if (keys.length === 0) {
        await this.wakeup.wait(1000, undefined);
        continue;
      }
      try {
        await this.fetchRound(keys);
        failures = 0;
      } catch (err) {
        if (!this.isRunning) return;
        const mapped = fromPlatformaticError(err, `fetching for group ${this.options.groupId}`);
        if (!mapped.retriable) {
          this.crash = mapped;
          this.options.onChange();
          return;
        }
        failures++;
        this.options.log.debug({ err, groupId: this.options.groupId }, "fetch failed; retrying");
        this.client.clearMetadata();
        await this.wakeup.wait(Math.min(1000, 100 * failures), undefined);
      }
    }
  }

  /** One fetch per partition leader, concurrently; resolves when all have answered. */
  private async fetchRound(keys: string[]): Promise<void> {
    const metadata = await this.client.metadata({ topics: this.topics });
    const byLeader = new Map<number, Map<string, fetchV17.FetchRequestPartition[]>>();
    const topicNames = new Map<string, string>();
    const requested = new Map<string, number>();
    const s = this.options.settings;
    for (const key of keys) {
      const { topic, partition } = split(key);
      const topicMetadata = metadata.topics.get(topic);
      const leader = topicMetadata?.partitions[partition]?.leader ?? -1;
      if (topicMetadata === undefined || leader < 0) continue;
      const offset = this.buffers.fetchPosition(key)!;
      requested.set(key, offset);
      topicNames.set(topicMetadata.id, topic);
      const topics = byLeader.get(leader) ?? new Map<string, fetchV17.FetchRequestPartition[]>();
      byLeader.set(leader, topics);
      const partitions = topics.get(topicMetadata.id) ?? [];
      topics.set(topicMetadata.id, partitions);
      partitions.push({
        partition,
        fetchOffset: BigInt(offset),
        partitionMaxBytes: s.maxPartitionFetchBytes,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      });
    }
    if (byLeader.size === 0) {
      this.client.clearMetadata();
      await this.wakeup.wait(100, undefined);
      return;
    }
    await Promise.all(
      [...byLeader].map(async ([node, topics]) => {
        const response = await this.fetchFrom(node, topics);
        this.accept(response, topicNames, requested);
      }),
    );
  }

  /** A fetch whose only errors are OFFSET_OUT_OF_RANGE still returns its response. */
  private async fetchFrom(
    node: number,
    topics: Map<string, fetchV17.FetchRequestPartition[]>,
  ): Promise<FetchResponse> {
    const s = this.options.settings;
    try {
      return await this.client.fetch({
        node,
        topics: [...topics].map(([topicId, partitions]) => ({ topicId, partitions })),
        maxWaitTime: s.maxWaitTimeMs,
        minBytes: 1,
        maxBytes: s.maxFetchBytes,
        isolationLevel: this.options.readCommitted
          ? FetchIsolationLevels.READ_COMMITTED
          : FetchIsolationLevels.READ_UNCOMMITTED,
        connectionPool: this.options.pool,
      });
    } catch (err) {
      const response = (err as { response?: FetchResponse }).response;
      const errors = (err as { errors?: { apiId?: string }[] }).errors ?? [];
      const onlyOutOfRange =
        hasProtocolError(err, "OFFSET_OUT_OF_RANGE") &&
        errors.every((e) => e.apiId === "OFFSET_OUT_OF_RANGE");
      if (response !== undefined && onlyOutOfRange) return response;
      throw err;
    }
  }

  /** Appends fetched records of partitions whose position did not move while the fetch ran. */
  private accept(
    response: FetchResponse,
    topicNames: Map<string, string>,
    requested: Map<string, number>,
  ): void {
    let changed = false;
    const outOfRange = new Map<string, number[]>();
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId);
      if (topic === undefined) continue;
      for (const p of topicResponse.partitions) {
        const key = tpKey({ topic, partition: p.partitionIndex });
        const from = requested.get(key);
        if (from === undefined || !this.membership.inGroup(key) || this.buffers.fetchPosition(key) !== from)
          continue;
        if (p.errorCode === 1) {
          outOfRange.set(topic, [...(outOfRange.get(topic) ?? []), p.partitionIndex]);
          continue;
        }
        const fetched = p.records ?? [];
        const next = nextFetchOffset(fetched);
        if (p.errorCode !== 0 || next === undefined) continue;
        const batches = this.options.readCommitted ? dropAborted(p) : fetched;
        this.buffers.append(key, toIncomingRecords(topic, p.partitionIndex, batches, from), next);
        if (this.buffers.isFull(key)) this.bufferFull.add(key);
        changed = true;
      }
    }
    if (changed) this.options.onChange();
    if (outOfRange.size > 0) {
      this.options.log.info(
        { groupId: this.options.groupId, partitions: Object.fromEntries(outOfRange) },
        "fetch position out of range; resetting by autoOffsetReset",
      );
      void this.resetPositions(outOfRange, requested).catch((err: unknown) =>
        this.fail(err, `resetting out-of-range offsets of group ${this.options.groupId}`),
      );
    }
  }
}
