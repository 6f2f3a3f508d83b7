import {
  ConnectionPool,
  Consumer as PltConsumer,
  type ConsumerOptions as PltConsumerOptions,
} from "@platformatic/kafka";
import type { Logger } from "../../logger.js";
import type { ConsumerOptions, TopicPartitionOffset } from "../../transport/transport.js";
import { GroupMemberConsumer } from "../group-member-consumer.js";
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
export class PlatformaticConsumer extends GroupMemberConsumer {
  private readonly pool: ConnectionPool;
  protected readonly fetcher: PlatformaticFetcher;

  constructor(
    options: ConsumerOptions,
    private readonly deps: PlatformaticConsumerDeps,
  ) {
    super(options, deps.log);
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

  protected startFetching(topics: string[], fromEarliest: boolean): void {
    this.fetcher.start(topics, fromEarliest);
  }

  protected async commitJoined(offsets: TopicPartitionOffset[]): Promise<void> {
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

  protected async stopFetching(): Promise<void> {
    try {
      await this.fetcher.stop();
    } finally {
      await this.pool.close();
    }
  }

  protected onClosed(): void {
    this.deps.onClosed(this);
  }
}
