import type { EachBatchPayload, Kafka, Consumer as KafkaJsConsumer } from "kafkajs";
import type { SpikemeshError } from "../errors.js";
import type { Logger } from "../logger.js";
import { type IncomingRecord, type TopicPartitionOffset, tpKey } from "../transport/transport.js";
import { FetchBuffers } from "./fetch-buffer.js";
import { FetchControl } from "./fetch-control.js";
import { GroupAssignment } from "./group-assignment.js";
import type { MemberFetcher } from "./group-member-consumer.js";
import { fromKafkaError } from "./kafka-errors.js";
import { fromKafkaMessage } from "./kafka-records.js";

/** Group and fetch tuning; see KafkaTransportOptions for the defaults. */
export interface KafkaConsumerSettings {
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
  maxBufferedRecords: number;
  maxBufferedBytes: number;
  retries: number;
}

export interface KafkaFeedOptions {
  kafka: Kafka;
  groupId: string;
  readCommitted: boolean;
  settings: KafkaConsumerSettings;
  log: Logger;
  /** Called whenever records arrive or the group changes, to wake a waiting poll. */
  onChange(): void;
}

/**
 * The push side of a KafkaConsumer: a kafkajs consumer whose `eachBatch` fills the fetch
 * buffers and whose group events (rebalancing, join, first fetch after a join, crash) update
 * the {@link GroupAssignment}. After a join, kept partitions continue where fetching stopped,
 * seeks made while unassigned are applied, and pauses are sent again.
 */
export class KafkaFeed implements MemberFetcher {
  readonly buffers: FetchBuffers;
  readonly membership = new GroupAssignment();
  readonly fetching: FetchControl;
  /** Set when kafkajs gave up (a crash it does not restart from). */
  crash: SpikemeshError | null = null;
  /** Between a crash kafkajs restarts from and the next join. */
  isRestarting = false;
  private readonly client: KafkaJsConsumer;
  private joinWaiters: (() => void)[] = [];

  constructor(private readonly options: KafkaFeedOptions) {
    const s = options.settings;
    this.buffers = new FetchBuffers({ maxRecords: s.maxBufferedRecords, maxBytes: s.maxBufferedBytes });
    this.client = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: s.sessionTimeoutMs,
      rebalanceTimeout: s.rebalanceTimeoutMs,
      heartbeatInterval: s.heartbeatIntervalMs,
      maxWaitTimeInMs: s.maxWaitTimeMs,
      readUncommitted: !options.readCommitted,
      allowAutoTopicCreation: false,
      // kafkajs restarts a consumer that crashed on a retriable error (a broker restart) on a
      // timer; one that was stopped meanwhile must stay stopped, or it rejoins the group and holds
      // partitions nobody polls.
      retry: { retries: s.retries, restartOnFailure: async () => this.fetching.isActive },
    });
    this.fetching = new FetchControl(this.client, options.log);
    const { events } = this.client;
    this.client.on(events.REBALANCING, () => {
      this.membership.rebalancing();
      options.onChange();
    });
    this.client.on(events.GROUP_JOIN, (e) => {
      // A restart kafkajs had already scheduled when the feed was stopped: leave the group again.
      if (!this.fetching.isActive) {
        void this.client.disconnect().catch(() => undefined);
        return;
      }
      this.onJoin(e.payload.memberAssignment);
    });
    this.client.on(events.FETCH, () => {
      if (this.membership.fetched()) options.onChange();
    });
    this.client.on(events.CRASH, (e) => {
      this.membership.rebalancing();
      this.isRestarting = e.payload.restart;
      if (!e.payload.restart)
        this.crash = fromKafkaError(e.payload.error, `consumer of group ${options.groupId}`);
      options.onChange();
    });
  }

  /** Connects and subscribes; the group is joined in the background. */
  async start(topics: string[], fromBeginning: boolean): Promise<void> {
    this.fetching.isActive = true;
    try {
      await this.client.connect();
      await this.client.subscribe({ topics, fromBeginning });
    } catch (err) {
      throw fromKafkaError(err, `subscribing group ${this.options.groupId} to ${topics.join(", ")}`);
    }
    // Not awaited: run() resolves after the first join, which may wait on other members' polls.
    this.client
      .run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.onBatch(payload),
      })
      .catch((err: unknown) => {
        this.crash = fromKafkaError(err, `running consumer of group ${this.options.groupId}`);
        this.options.onChange();
      });
  }

  /** Drops what is buffered for the partition and fetches from `offset` next. */
  seek(key: string, offset: number): void {
    this.buffers.reset(key, offset);
    this.fetching.seek(key, offset);
    this.fetching.setBufferFull(key, false);
  }

  isPausedByUser(key: string): boolean {
    return this.fetching.isPausedByUser(key);
  }

  pauseByUser(key: string): void {
    this.fetching.pauseByUser(key);
  }

  resumeByUser(key: string): void {
    this.fetching.resumeByUser(key);
  }

  /** Takes buffered records of `keys`; a full partition drained below half is fetched again. */
  take(keys: string[], maxRecords: number): IncomingRecord[] {
    return this.buffers.takeFrom(keys, maxRecords, (key) => {
      if (this.fetching.isBufferFull(key) && this.buffers.isLow(key)) this.fetching.setBufferFull(key, false);
    });
  }

  /** Resolves after the first join (kafkajs silently drops commits made before it) or on stop. */
  async whenJoined(): Promise<void> {
    if (this.membership.hasJoined) return;
    await new Promise<void>((resolve) => this.joinWaiters.push(resolve));
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    await this.client.commitOffsets(
      offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })),
    );
  }

  /** Leaves the group and disconnects. */
  async stop(): Promise<void> {
    this.fetching.isActive = false;
    for (const wake of this.joinWaiters.splice(0)) wake();
    await this.client.disconnect();
  }

  private async onBatch({ batch, isStale }: EachBatchPayload): Promise<void> {
    const key = tpKey(batch);
    if (isStale() || !this.membership.inGroup(key)) return;
    const records = batch.messages.map((m) => fromKafkaMessage(batch.topic, batch.partition, m));
    this.buffers.append(key, records, Number(batch.lastOffset()) + 1);
    if (this.buffers.isFull(key)) this.fetching.setBufferFull(key, true);
    this.options.onChange();
  }

  private onJoin(memberAssignment: Record<string, number[]>): void {
    const keys = this.membership.joined(memberAssignment);
    const assigned = new Set(keys);
    for (const key of this.buffers.keys()) {
      if (assigned.has(key)) continue;
      this.buffers.delete(key);
      this.fetching.setBufferFull(key, false);
    }
    for (const key of keys) {
      const sought = this.membership.takeDeferredSeek(key);
      if (sought !== undefined) this.seek(key, sought);
      else {
        // kafkajs starts every partition from the committed offset after a join; kept ones go on.
        const position = this.buffers.fetchPosition(key);
        if (position !== undefined) this.fetching.seek(key, position);
      }
      this.fetching.apply(key, true);
    }
    this.isRestarting = false;
    for (const wake of this.joinWaiters.splice(0)) wake();
    this.options.onChange();
  }
}
