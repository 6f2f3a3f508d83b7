import type { ConnectionOptions as TlsOptions } from "node:tls";
import {
  type BaseOptions,
  FindCoordinatorKeyTypes,
  Admin as PltAdmin,
  type SASLOptions as PltSasl,
} from "@platformatic/kafka";
import type { SASLOptions } from "kafkajs";
import { type Clock, systemClock } from "../../clock.js";
import { SpikemeshError } from "../../errors.js";
import { type Logger, silentLogger } from "../../logger.js";
import type {
  Consumer,
  ConsumerOptions,
  Producer,
  ProducerOptions,
  Transport,
} from "../../transport/transport.js";
import type { KafkaTransportOptions } from "../kafka-transport.js";
import { PlatformaticAdmin } from "./platformatic-admin.js";
import { PlatformaticConsumer } from "./platformatic-consumer.js";
import { fromPlatformaticError } from "./platformatic-errors.js";
import type { PlatformaticConsumerSettings } from "./platformatic-fetcher.js";
import { PlatformaticProducer } from "./platformatic-producer.js";

/**
 * Options of the @platformatic/kafka transport: the kafkajs transport's options (SASL given in
 * kafkajs's shape, PLAIN and SCRAM only), plus fetch sizes.
 */
export interface PlatformaticTransportOptions extends KafkaTransportOptions {
  /** Largest fetch response in bytes. Default 8 MiB. */
  maxFetchBytes?: number;
  /** Largest share of one partition in a fetch response, in bytes. Default 1 MiB. */
  maxPartitionFetchBytes?: number;
}

const SASL_MECHANISMS: Record<string, PltSasl["mechanism"]> = {
  plain: "PLAIN",
  "scram-sha-256": "SCRAM-SHA-256",
  "scram-sha-512": "SCRAM-SHA-512",
};

function toPlatformaticSasl(sasl: SASLOptions): PltSasl {
  const mechanism = SASL_MECHANISMS[sasl.mechanism];
  if (mechanism === undefined || !("username" in sasl)) {
    throw new SpikemeshError(
      "CONFIG_INVALID",
      `SASL mechanism ${sasl.mechanism} is not supported with client "platformatic" (use plain, scram-sha-256 or scram-sha-512, or client "kafkajs")`,
      { context: { field: "sasl.mechanism" } },
    );
  }
  return { mechanism, username: sasl.username, password: sasl.password };
}

function toTls(ssl: boolean | TlsOptions | undefined): TlsOptions | undefined {
  if (ssl === undefined || ssl === false) return undefined;
  return ssl === true ? {} : ssl;
}

/** Retry delays of 100, 200, 400 ... ms, at most 2 s (kafkajs-like; the client's default is a flat 1 s). */
const retryDelay = (_client: unknown, _operation: string, attempt: number): number =>
  Math.min(2000, 100 * 2 ** Math.max(0, attempt - 1));

/**
 * The Kafka runtime's transport on @platformatic/kafka (pure TypeScript, maintained; 1.x runs on
 * Node 20). Same behaviour as {@link KafkaTransport} on kafkajs: the shared Transport contract
 * runs on both. Clients connect on first use; `close()` closes everything this transport created.
 */
export class PlatformaticKafkaTransport implements Transport {
  readonly kind = "kafka" as const;
  readonly brokers: readonly string[];
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly base: BaseOptions;
  private readonly transactionTimeoutMs: number;
  private readonly maxRequestBytes: number;
  private readonly adminTimeoutMs: number;
  private readonly consumerSettings: PlatformaticConsumerSettings;
  private readonly producers = new Set<PlatformaticProducer>();
  private readonly consumers = new Set<PlatformaticConsumer>();
  private readonly coordinators = new Map<string, Promise<number>>();
  private adminClient: PltAdmin | null = null;
  private isClosed = false;

  constructor(options: PlatformaticTransportOptions) {
    if (options.brokers.length === 0) {
      throw new SpikemeshError(
        "CONFIG_INVALID",
        "the Kafka transport needs at least one broker (host:port)",
        {
          context: { field: "brokers" },
        },
      );
    }
    this.brokers = [...options.brokers];
    this.log = (options.logger ?? silentLogger()).child({ component: "kafka", client: "platformatic" });
    this.clock = options.clock ?? systemClock;
    this.transactionTimeoutMs = options.transactionTimeoutMs ?? 60_000;
    this.maxRequestBytes = options.maxRequestBytes ?? 900_000;
    this.adminTimeoutMs = options.adminTimeoutMs ?? 30_000;
    const tls = toTls(options.ssl);
    this.base = {
      clientId: options.clientId ?? "spikemesh",
      bootstrapBrokers: this.brokers.slice(),
      connectTimeout: options.connectionTimeoutMs ?? 3000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      timeout: options.requestTimeoutMs ?? 30_000,
      retries: options.retries ?? 5,
      retryDelay,
      ...(tls !== undefined ? { tls } : {}),
      ...(options.sasl !== undefined ? { sasl: toPlatformaticSasl(options.sasl) } : {}),
    };
    this.consumerSettings = {
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
      maxWaitTimeMs: options.maxWaitTimeMs ?? 200,
      maxBufferedRecords: options.maxBufferedRecordsPerPartition ?? 10_000,
      maxBufferedBytes: options.maxBufferedBytesPerPartition ?? 8 * 1024 * 1024,
      maxFetchBytes: options.maxFetchBytes ?? 8 * 1024 * 1024,
      maxPartitionFetchBytes: options.maxPartitionFetchBytes ?? 1024 * 1024,
    };
  }

  /** The concrete PlatformaticAdmin, whose createTopics also takes extra Kafka topic configs. */
  admin(): PlatformaticAdmin {
    this.assertOpen();
    return new PlatformaticAdmin({ client: this.adminOf(), timeoutMs: this.adminTimeoutMs });
  }

  producer(options: ProducerOptions = {}): Producer {
    this.assertOpen();
    const producer = new PlatformaticProducer(options, {
      // The producer's `timeout` is also the transaction timeout it registers with the broker.
      base: { ...this.base, timeout: this.transactionTimeoutMs },
      log: this.log,
      clock: this.clock,
      maxRequestBytes: this.maxRequestBytes,
      groupCoordinator: (groupId) => this.groupCoordinator(groupId),
      onClosed: (p) => this.producers.delete(p),
    });
    this.producers.add(producer);
    return producer;
  }

  consumer(options: ConsumerOptions): Consumer {
    this.assertOpen();
    const consumer = new PlatformaticConsumer(options, {
      base: this.base,
      settings: this.consumerSettings,
      log: this.log.child({ groupId: options.groupId }),
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
    await admin?.close().catch(() => undefined);
  }

  private adminOf(): PltAdmin {
    this.adminClient ??= new PltAdmin(this.base);
    return this.adminClient;
  }

  /** The node id of a group's coordinator, looked up once per group. */
  private groupCoordinator(groupId: string): Promise<number> {
    let found = this.coordinators.get(groupId);
    if (found === undefined) {
      found = this.adminOf()
        .findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: [groupId] })
        .then(
          (result) => {
            const node = result.find((c) => c.key === groupId)?.nodeId;
            if (node === undefined) throw new Error(`no coordinator returned for group ${groupId}`);
            return node;
          },
          (err: unknown) => {
            throw fromPlatformaticError(err, `finding the coordinator of group ${groupId}`);
          },
        );
      found.catch(() => this.coordinators.delete(groupId));
      this.coordinators.set(groupId, found);
    }
    return found;
  }

  private assertOpen(): void {
    if (this.isClosed) throw new SpikemeshError("CLOSED", "the Kafka transport is closed");
  }
}
