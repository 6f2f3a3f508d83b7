import type { ConnectionOptions } from "node:tls";
import { Kafka, type Admin as KafkaJsAdmin, logLevel, type SASLOptions } from "kafkajs";
import { type Clock, systemClock } from "../clock.js";
import { SpikemeshError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";
import type {
  Consumer,
  ConsumerOptions,
  Producer,
  ProducerOptions,
  Transport,
} from "../transport/transport.js";
import { KafkaAdmin } from "./kafka-admin.js";
import { KafkaConsumer } from "./kafka-consumer.js";
import { fromKafkaError } from "./kafka-errors.js";
import type { KafkaConsumerSettings } from "./kafka-feed.js";
import { kafkaLogCreator } from "./kafka-log.js";
import { KafkaProducer } from "./kafka-producer.js";

export interface KafkaTransportOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Default "spikemesh". */
  clientId?: string;
  /** TLS: true for the system CAs, or Node TLS options. Default off. */
  ssl?: boolean | ConnectionOptions;
  /** SASL (plain, scram-sha-256, scram-sha-512, ...), passed to kafkajs. Default off. */
  sasl?: SASLOptions;
  /** Default 3000. */
  connectionTimeoutMs?: number;
  /** Default 30 000. */
  requestTimeoutMs?: number;
  /** Retries of a failed request (with kafkajs's exponential backoff) before an error surfaces. Default 5. */
  retries?: number;
  /** Default: a silent logger. kafkajs's own lines go to a `component: "kafka"` child. */
  logger?: Logger;
  /** Default timestamps of produced records. Default: the system clock. */
  clock?: Clock;
  /** A member that sends no heartbeat for this long leaves the group. Default 30 000. */
  sessionTimeoutMs?: number;
  /** How long the group waits for members to rejoin. Default 60 000. */
  rebalanceTimeoutMs?: number;
  /** Default 1000 (how quickly a member notices a rebalance). */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits at the broker for data. Default 200. */
  maxWaitTimeMs?: number;
  /** A partition stops fetching at this many records fetched but not polled. Default 10 000. */
  maxBufferedRecordsPerPartition?: number;
  /** ...or at this many bytes. Default 8 MiB. */
  maxBufferedBytesPerPartition?: number;
  /** Sends are split into produce requests of at most this many bytes (broker `message.max.bytes` is 1 MiB by default). Default 900 000. */
  maxRequestBytes?: number;
  /** Default 60 000. */
  transactionTimeoutMs?: number;
  /** How long topic creation waits for leaders and deletion for the topic to vanish. Default 30 000. */
  adminTimeoutMs?: number;
}

/**
 * The Kafka runtime's transport on kafkajs. Admin, producers and consumers connect on first use;
 * `close()` disconnects everything this transport created.
 */
export class KafkaTransport implements Transport {
  readonly kind = "kafka" as const;
  readonly brokers: readonly string[];
  private readonly kafka: Kafka;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly retries: number;
  private readonly consumerSettings: KafkaConsumerSettings;
  private readonly maxRequestBytes: number;
  private readonly transactionTimeoutMs: number;
  private readonly adminTimeoutMs: number;
  private readonly producers = new Set<KafkaProducer>();
  private readonly consumers = new Set<KafkaConsumer>();
  private adminClient: Promise<KafkaJsAdmin> | null = null;
  private isClosed = false;

  constructor(options: KafkaTransportOptions) {
    if (options.brokers.length === 0) {
      throw new SpikemeshError("CONFIG_INVALID", "KafkaTransport needs at least one broker (host:port)", {
        context: { field: "brokers" },
      });
    }
    this.brokers = [...options.brokers];
    this.log = (options.logger ?? silentLogger()).child({ component: "kafka" });
    this.clock = options.clock ?? systemClock;
    this.retries = options.retries ?? 5;
    this.maxRequestBytes = options.maxRequestBytes ?? 900_000;
    this.transactionTimeoutMs = options.transactionTimeoutMs ?? 60_000;
    this.adminTimeoutMs = options.adminTimeoutMs ?? 30_000;
    this.consumerSettings = {
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
      maxWaitTimeMs: options.maxWaitTimeMs ?? 200,
      maxBufferedRecords: options.maxBufferedRecordsPerPartition ?? 10_000,
      maxBufferedBytes: options.maxBufferedBytesPerPartition ?? 8 * 1024 * 1024,
      retries: this.retries,
    };
    this.kafka = new Kafka({
      clientId: options.clientId ?? "spikemesh",
      brokers: this.brokers.slice(),
      ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
      ...(options.sasl !== undefined ? { sasl: options.sasl } : {}),
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      retry: { retries: this.retries },
      logLevel: this.log.isLevelEnabled("debug") ? logLevel.DEBUG : logLevel.WARN,
      logCreator: kafkaLogCreator(this.log),
    });
  }

  /** The concrete KafkaAdmin, whose createTopics also takes extra Kafka topic configs. */
  admin(): KafkaAdmin {
    this.assertOpen();
    return new KafkaAdmin({ client: () => this.connectAdmin(), timeoutMs: this.adminTimeoutMs });
  }

  producer(options: ProducerOptions = {}): Producer {
    this.assertOpen();
    const producer = new KafkaProducer(options, {
      kafka: this.kafka,
      log: this.log,
      clock: this.clock,
      maxRequestBytes: this.maxRequestBytes,
      retries: this.retries,
      transactionTimeoutMs: this.transactionTimeoutMs,
      onClosed: (p) => this.producers.delete(p),
    });
    this.producers.add(producer);
    return producer;
  }

  consumer(options: ConsumerOptions): Consumer {
    this.assertOpen();
    const consumer = new KafkaConsumer(options, {
      kafka: this.kafka,
      log: this.log.child({ groupId: options.groupId }),
      settings: this.consumerSettings,
      onClosed: (c) => this.consumers.delete(c),
    });
    this.consumers.add(consumer);
    return consumer;
  }

  /** Closes consumers (leaving their groups), then producers (aborting open transactions), then the admin client. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await Promise.all([...this.consumers].map((c) => c.close()));
    await Promise.all([...this.producers].map((p) => p.close()));
    const admin = this.adminClient;
    this.adminClient = null;
    if (admin !== null) await admin.then((a) => a.disconnect()).catch(() => undefined);
  }

  private connectAdmin(): Promise<KafkaJsAdmin> {
    this.assertOpen();
    if (this.adminClient === null) {
      const admin = this.kafka.admin({ retry: { retries: this.retries } });
      this.adminClient = admin.connect().then(
        () => admin,
        (err: unknown) => {
          this.adminClient = null;
          throw fromKafkaError(err, `connecting to Kafka at ${this.brokers.join(",")}`);
        },
      );
    }
    return this.adminClient;
  }

  private assertOpen(): void {
    if (this.isClosed) throw new SpikemeshError("CLOSED", "the Kafka transport is closed");
  }
}
