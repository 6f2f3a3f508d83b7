import type {
  Kafka,
  Producer as KafkaJsProducer,
  Transaction as KafkaJsTransaction,
  Message,
  PartitionerArgs,
  TopicMessages,
} from "kafkajs";
import type { Clock } from "../clock.js";
import { SpikemeshError } from "../errors.js";
import type { Logger } from "../logger.js";
import { KeyPartitioner } from "../transport/partitioner.js";
import type {
  OutgoingRecord,
  Producer,
  ProducerOptions,
  RecordMetadata,
  TopicPartitionOffset,
  Transaction,
} from "../transport/transport.js";
import { fromKafkaError } from "./kafka-errors.js";
import { assertOffset, chunkBySize, toKafkaMessage, validateRecord } from "./kafka-records.js";
import { SendCoalescer } from "./send-coalescer.js";

export interface KafkaProducerDeps {
  kafka: Kafka;
  log: Logger;
  clock: Clock;
  /** Largest produce request we build, in bytes; below the broker's `message.max.bytes`. */
  maxRequestBytes: number;
  /** kafkajs retries per send before it fails with a retriable TRANSIENT error. */
  retries: number;
  transactionTimeoutMs: number;
  onClosed(producer: KafkaProducer): void;
}

interface PartitionOffsetMetadata {
  topicName: string;
  partition: number;
  baseOffset?: string;
}

type SendBatch = (topicMessages: TopicMessages[]) => Promise<PartitionOffsetMetadata[]>;

/**
 * A kafkajs producer behind the Transport's Producer. Partitions are chosen by the shared
 * {@link KeyPartitioner} (murmur2 like Kafka's default partitioner, round-robin for null keys),
 * so a key lands on the same partition as on the embedded log. Idempotent by default
 * (`acks=all`, one request in flight); with a `transactionalId`, records go through `transaction()`.
 */
export class KafkaProducer implements Producer {
  private readonly client: KafkaJsProducer;
  private readonly partitioner = new KeyPartitioner();
  /** The partition picked for each message, so a kafkajs retry re-picks the same one. */
  private readonly picked = new WeakMap<Message, number>();
  private connecting: Promise<void> | null = null;
  private current: KafkaTransaction | null = null;
  private isClosed = false;

  constructor(
    private readonly options: ProducerOptions,
    private readonly deps: KafkaProducerDeps,
  ) {
    const transactional = options.transactionalId !== undefined;
    const idempotent = transactional || (options.idempotent ?? true);
    this.client = deps.kafka.producer({
      createPartitioner: () => (args) => this.partitionFor(args),
      idempotent,
      ...(transactional ? { transactionalId: options.transactionalId } : {}),
      ...(idempotent ? { maxInFlightRequests: 1 } : {}),
      allowAutoTopicCreation: false,
      transactionTimeout: deps.transactionTimeoutMs,
      retry: { retries: deps.retries },
    });
  }

  async send(records: OutgoingRecord[]): Promise<RecordMetadata[]> {
    this.assertOpen();
    if (this.options.transactionalId !== undefined) {
      throw new SpikemeshError(
        "INVARIANT",
        `producer ${this.options.transactionalId} is transactional: send inside transaction()`,
      );
    }
    await this.connect();
    return this.coalescer.send(records);
  }

  /** Sends wait for the request in flight and go together in the next one (see SendCoalescer). */
  private readonly coalescer = new SendCoalescer<OutgoingRecord[]>({
    prepare: (records) => {
      for (let i = 0; i < records.length; i++) validateRecord(records[i]!, i);
      return records;
    },
    merge: (parts) => parts.flat(),
    send: (records) =>
      this.produce(records, (topicMessages) => this.client.sendBatch({ topicMessages, acks: -1 })),
  });

  async transaction(): Promise<Transaction> {
    this.assertOpen();
    const id = this.options.transactionalId;
    if (id === undefined) {
      throw new SpikemeshError("INVARIANT", "transaction() needs a producer created with a transactionalId");
    }
    if (this.current !== null) {
      throw new SpikemeshError("INVARIANT", `producer ${id} already has an open transaction`);
    }
    await this.connect();
    let tx: KafkaJsTransaction;
    try {
      tx = await this.client.transaction();
    } catch (err) {
      throw fromKafkaError(err, `beginning a transaction of ${id}`);
    }
    this.current = new KafkaTransaction(
      id,
      tx,
      (records) => this.produce(records, (topicMessages) => tx.sendBatch({ topicMessages, acks: -1 })),
      () => {
        this.current = null;
      },
    );
    return this.current;
  }

  /** Aborts an open transaction, then disconnects. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    try {
      await this.current?.abort();
    } catch (err) {
      this.deps.log.warn({ err }, "aborting the open transaction while closing failed");
    }
    try {
      if (this.connecting !== null) await this.client.disconnect();
    } finally {
      this.deps.onClosed(this);
    }
  }

  private connect(): Promise<void> {
    this.connecting ??= this.client.connect().catch((err: unknown) => {
      this.connecting = null;
      throw fromKafkaError(err, "connecting the producer");
    });
    return this.connecting;
  }

  private partitionFor({ topic, partitionMetadata, message }: PartitionerArgs): number {
    const count = partitionMetadata.length;
    if (message.partition !== undefined && message.partition !== null) {
      if (message.partition >= count) {
        throw new SpikemeshError(
          "RECORD_INVALID",
          `partition ${message.partition} is not in [0, ${count}) of ${topic}`,
          { context: { topic } },
        );
      }
      return message.partition;
    }
    const earlier = this.picked.get(message);
    if (earlier !== undefined) return earlier;
    const key = message.key === undefined || message.key === null ? null : Buffer.from(message.key);
    const partition = this.partitioner.partition(topic, key, count);
    this.picked.set(message, partition);
    return partition;
  }

  /**
   * Validates everything first, then sends size-bounded chunks in order; each chunk is one
   * kafkajs batch (one record batch per partition), so a record's offset is its partition's base
   * offset plus its position among that partition's records in the chunk.
   */
  private async produce(records: OutgoingRecord[], sendBatch: SendBatch): Promise<RecordMetadata[]> {
    const sizes = records.map((r, i) => validateRecord(r, i));
    const now = this.deps.clock.nowMs();
    const messages = records.map((r) => toKafkaMessage(r, now));
    const indexes = chunkBySize(
      records.map((_, i) => i),
      sizes,
      this.deps.maxRequestBytes,
    );
    const out = new Array<RecordMetadata>(records.length);
    for (const chunk of indexes) {
      const byTopic = new Map<string, Message[]>();
      for (const i of chunk) {
        const topic = records[i]!.topic;
        const list = byTopic.get(topic);
        if (list === undefined) byTopic.set(topic, [messages[i]!]);
        else list.push(messages[i]!);
      }
      let meta: PartitionOffsetMetadata[];
      try {
        meta = await sendBatch([...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })));
      } catch (err) {
        throw fromKafkaError(err, `producing ${chunk.length} records`, { topic: records[chunk[0]!]!.topic });
      }
      const next = new Map<string, number>();
      for (const m of meta) next.set(`${m.topicName}/${m.partition}`, Number(m.baseOffset ?? -1));
      for (const i of chunk) {
        const topic = records[i]!.topic;
        const message = messages[i]!;
        const partition = message.partition ?? this.picked.get(message);
        const key = `${topic}/${partition}`;
        const offset = next.get(key);
        if (partition === undefined || offset === undefined) {
          throw new SpikemeshError("INVARIANT", `no produce result for record ${i} of ${topic}`, {
            context: { topic },
          });
        }
        next.set(key, offset + 1);
        out[i] = { topic, partition, offset };
      }
    }
    return out;
  }

  private assertOpen(): void {
    if (this.isClosed) throw new SpikemeshError("CLOSED", "producer is closed");
  }
}

/** One kafkajs transaction: records and consumer offsets become visible together at commit. */
export class KafkaTransaction implements Transaction {
  private state: "open" | "committed" | "aborted" = "open";

  constructor(
    private readonly transactionalId: string,
    private readonly tx: KafkaJsTransaction,
    private readonly produce: (records: OutgoingRecord[]) => Promise<RecordMetadata[]>,
    private readonly onEnd: () => void,
  ) {}

  async send(records: OutgoingRecord[]): Promise<void> {
    this.assertOpen();
    await this.produce(records);
  }

  async sendOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const o of offsets) {
      assertOffset(o, "sendOffsets");
      const entry = { partition: o.partition, offset: String(o.offset) };
      const list = byTopic.get(o.topic);
      if (list === undefined) byTopic.set(o.topic, [entry]);
      else list.push(entry);
    }
    try {
      await this.tx.sendOffsets({
        consumerGroupId: groupId,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      });
    } catch (err) {
      throw fromKafkaError(err, `sending offsets of group ${groupId} in transaction ${this.transactionalId}`);
    }
  }

  /** On failure the transaction stays open so the caller can `abort()` it. */
  async commit(): Promise<void> {
    this.assertOpen();
    try {
      await this.tx.commit();
    } catch (err) {
      throw fromKafkaError(err, `committing transaction ${this.transactionalId}`);
    }
    this.state = "committed";
    this.onEnd();
  }

  async abort(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "aborted";
    this.onEnd();
    try {
      await this.tx.abort();
    } catch (err) {
      throw fromKafkaError(err, `aborting transaction ${this.transactionalId}`);
    }
  }

  private assertOpen(): void {
    if (this.state !== "open") {
      throw new SpikemeshError(
        "INVARIANT",
        `transaction of ${this.transactionalId} is already ${this.state}`,
      );
    }
  }
}
