import { SpikemeshError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ConsumerOptions, TopicPartitionOffset } from "../transport/transport.js";
import { GroupMemberConsumer } from "./group-member-consumer.js";
import { fromKafkaError } from "./kafka-errors.js";
import { KafkaFeed, type KafkaFeedOptions } from "./kafka-feed.js";

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
export class KafkaConsumer extends GroupMemberConsumer {
  protected readonly fetcher: KafkaFeed;

  constructor(
    options: ConsumerOptions,
    private readonly deps: KafkaConsumerDeps,
  ) {
    super(options, deps.log);
    this.fetcher = new KafkaFeed({
      ...deps,
      groupId: options.groupId,
      readCommitted: options.readCommitted ?? true,
      onChange: () => this.wakeup.wake(),
    });
  }

  protected startFetching(topics: string[], fromEarliest: boolean): Promise<void> {
    return this.fetcher.start(topics, fromEarliest);
  }

  protected async commitJoined(offsets: TopicPartitionOffset[]): Promise<void> {
    try {
      await this.fetcher.commit(offsets);
    } catch (err) {
      const mapped = fromKafkaError(err, `committing offsets of group ${this.options.groupId}`);
      if (!this.fetcher.isRestarting) throw mapped;
      throw new SpikemeshError("TRANSIENT", `${mapped.message} (the consumer is restarting)`, {
        retriable: true,
        cause: err,
      });
    }
  }

  protected stopFetching(): Promise<void> {
    return this.fetcher.stop();
  }

  protected onClosed(): void {
    this.deps.onClosed(this);
  }
}
