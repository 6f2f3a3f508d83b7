import {
  type MessageToProduce,
  type Consumer as PltConsumer,
  type Message as PltMessage,
  Producer as PltProducer,
  type ProducerOptions as PltProducerOptions,
  stringSerializer,
} from "@platformatic/kafka";
import type { Clock } from "../../clock.js";
import { SpikemeshError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { KeyPartitioner } from "../../transport/partitioner.js";
import type {
  OutgoingRecord,
  Producer,
  ProducerOptions,
  RecordMetadata,
  TopicPartitionOffset,
  Transaction,
} from "../../transport/transport.js";
import { assertOffset, chunkBySize, validateRecord } from "../kafka-records.js";
import { SendCoalescer } from "../send-coalescer.js";
import { closeForced, fromPlatformaticError, isCoordinatorLost } from "./platformatic-errors.js";

type Message = MessageToProduce<Buffer, Buffer, string, string>;
/** The client's Transaction class, which its package index does not export. */
type PltTransaction = NonNullable<PltProducer<Buffer, Buffer, string, string>["transaction"]>;
type SendChunk = (messages: Message[]) => Promise<{ topic: string; partition: number; offset: bigint }[]>;

/** Records checked and given their partitions, ready to go into produce requests. */
interface PreparedRecords {
  records: OutgoingRecord[];
  sizes: number[];
  partitions: number[];
}

export interface PlatformaticProducerDeps {
  /** Connection, SASL/TLS, timeout and retry settings shared by every client of the transport. */
  base: Omit<PltProducerOptions<Buffer, Buffer, string, string>, "transactionalId" | "idempotent">;
  log: Logger;
  clock: Clock;
  /** Largest produce request we build, in bytes; below the broker's `message.max.bytes`. */
  maxRequestBytes: number;
  /** The node id of a consumer group's coordinator (TxnOffsetCommit goes there). */
  groupCoordinator(groupId: string): Promise<number>;
  onClosed(producer: PlatformaticProducer): void;
}

/**
 * A @platformatic/kafka producer behind the Transport's Producer. Partitions are picked here, by
 * the shared {@link KeyPartitioner} over the topic's partition count from metadata, so a key
 * lands where kafkajs and the embedded log put it, and an explicit partition the topic lacks is
 * rejected (the client itself would wrap it modulo the count). Idempotent by default (`acks=all`,
 * one request in flight); with a `transactionalId`, records go through `transaction()`.
 */
export class PlatformaticProducer implements Producer {
  private client: PltProducer<Buffer, Buffer, string, string>;
  /** Set when a transaction lost its coordinator: the next transaction starts on a new client. */
  private isClientStale = false;
  private readonly partitioner = new KeyPartitioner();
  private current: PlatformaticTransaction | null = null;
  private isClosed = false;

  constructor(
    private readonly options: ProducerOptions,
    private readonly deps: PlatformaticProducerDeps,
  ) {
    this.client = this.createClient();
  }

  private createClient(): PltProducer<Buffer, Buffer, string, string> {
    const transactional = this.options.transactionalId !== undefined;
    const idempotent = transactional || (this.options.idempotent ?? true);
    return new PltProducer<Buffer, Buffer, string, string>({
      ...this.deps.base,
      idempotent,
      // InitProducerId must say "new producer" (-1/-1). The client's default is 0/0, which the
      // broker reads as "bump producer 0, epoch 0": for a transactionalId that an earlier process
      // used (a restart after a crash), it answers PRODUCER_FENCED and the restart cannot begin a
      // transaction at all.
      ...(idempotent ? { producerId: -1n, producerEpoch: -1 } : {}),
      ...(transactional ? { transactionalId: this.options.transactionalId } : {}),
      ...(idempotent ? {} : { acks: -1 }),
      serializers: { headerKey: stringSerializer, headerValue: stringSerializer },
    });
  }

  /** Notes a failure; a lost transaction coordinator means a new client for the next transaction. */
  private onTransactionError(err: unknown): void {
    if (isCoordinatorLost(err)) this.isClientStale = true;
  }

  async send(records: OutgoingRecord[]): Promise<RecordMetadata[]> {
    this.assertOpen();
    if (this.options.transactionalId !== undefined) {
      throw new SpikemeshError(
        "INVARIANT",
        `producer ${this.options.transactionalId} is transactional: send inside transaction()`,
      );
    }
    return this.coalescer.send(records);
  }

  /** Sends wait for the request in flight and go together in the next one (see SendCoalescer). */
  private readonly coalescer = new SendCoalescer<PreparedRecords>({
    prepare: (records) => this.prepare(records),
    merge: (parts) => ({
      records: parts.flatMap((p) => p.records),
      sizes: parts.flatMap((p) => p.sizes),
      partitions: parts.flatMap((p) => p.partitions),
    }),
    send: (prepared) =>
      this.sendPrepared(prepared, async (messages) => (await this.client.send({ messages })).offsets ?? []),
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
    if (this.isClientStale) {
      this.isClientStale = false;
      void closeForced(this.client).catch(() => undefined);
      this.client = this.createClient();
    }
    let tx: PltTransaction;
    try {
      tx = await this.client.beginTransaction();
    } catch (err) {
      this.onTransactionError(err);
      throw fromPlatformaticError(err, `beginning a transaction of ${id}`);
    }
    this.current = new PlatformaticTransaction(id, tx, {
      produce: (records) =>
        this.produce(records, async (messages) => (await tx.send({ messages })).offsets ?? []),
      groupCoordinator: (groupId) => this.deps.groupCoordinator(groupId),
      onError: (err) => this.onTransactionError(err),
      onEnd: () => {
        this.current = null;
      },
    });
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
      await closeForced(this.client);
    } catch (err) {
      this.deps.log.warn({ err }, "closing the producer failed");
    } finally {
      this.deps.onClosed(this);
    }
  }

  /** Partition counts of the topics, from the client's metadata cache. */
  private async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    try {
      const metadata = await this.client.metadata({ topics });
      return new Map(topics.map((t) => [t, metadata.topics.get(t)?.partitionsCount ?? 0]));
    } catch (err) {
      throw fromPlatformaticError(err, `reading metadata of ${topics.join(", ")}`, { topic: topics[0] });
    }
  }

  private toMessage(r: OutgoingRecord, partition: number, now: number): Message {
    const message: Message = {
      topic: r.topic,
      partition,
      timestamp: BigInt(Math.trunc(r.timestampMs ?? now)),
    };
    if (r.key !== null) message.key = r.key;
    // A null value (tombstone) is written as length -1; the client accepts null at run time.
    message.value = r.value as Buffer;
    if (r.headers !== undefined) message.headers = r.headers;
    return message;
  }

  /** Validates and picks partitions, then sends size-bounded chunks in order (see sendPrepared). */
  private async produce(records: OutgoingRecord[], sendChunk: SendChunk): Promise<RecordMetadata[]> {
    return this.sendPrepared(await this.prepare(records), sendChunk);
  }

  /** Validates every record and picks its partition; throws RECORD_INVALID for the first bad one. */
  private async prepare(records: OutgoingRecord[]): Promise<PreparedRecords> {
    const sizes = records.map((r, i) => validateRecord(r, i));
    if (records.length === 0) return { records, sizes, partitions: [] };
    const counts = await this.partitionCounts([...new Set(records.map((r) => r.topic))]);
    const partitions = records.map((r) => {
      const count = counts.get(r.topic) ?? 0;
      if (r.partition !== undefined && r.partition >= count) {
        throw new SpikemeshError(
          "RECORD_INVALID",
          `partition ${r.partition} is not in [0, ${count}) of ${r.topic}`,
          {
            context: { topic: r.topic },
          },
        );
      }
      return this.partitioner.partition(r.topic, r.key, count, r.partition);
    });
    return { records, sizes, partitions };
  }

  /**
   * Sends prepared records in size-bounded chunks, in order; within a chunk a record's offset is its
   * partition's base offset plus its position among that partition's records in the chunk.
   */
  private async sendPrepared(prepared: PreparedRecords, sendChunk: SendChunk): Promise<RecordMetadata[]> {
    const { records, sizes, partitions } = prepared;
    if (records.length === 0) return [];
    const now = this.deps.clock.nowMs();
    const out = new Array<RecordMetadata>(records.length);
    const chunks = chunkBySize(
      records.map((_, i) => i),
      sizes,
      this.deps.maxRequestBytes,
    );
    for (const chunk of chunks) {
      const messages = chunk.map((i) => this.toMessage(records[i]!, partitions[i]!, now));
      let offsets: { topic: string; partition: number; offset: bigint }[];
      try {
        offsets = await sendChunk(messages);
      } catch (err) {
        throw fromPlatformaticError(err, `producing ${chunk.length} records`, {
          topic: records[chunk[0]!]!.topic,
        });
      }
      const next = new Map<string, number>();
      for (const o of offsets) next.set(`${o.topic}/${o.partition}`, Number(o.offset));
      for (const i of chunk) {
        const topic = records[i]!.topic;
        const partition = partitions[i]!;
        const key = `${topic}/${partition}`;
        const offset = next.get(key);
        if (offset === undefined) {
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

interface TransactionDeps {
  produce(records: OutgoingRecord[]): Promise<RecordMetadata[]>;
  groupCoordinator(groupId: string): Promise<number>;
  /** Called with every failure of the transaction's requests. */
  onError(err: unknown): void;
  onEnd(): void;
}

/**
 * One @platformatic/kafka transaction: records and consumer offsets become visible together at
 * commit. Offsets are committed with generation -1 and no member id, as kafkajs does: the broker
 * then skips the group-generation check, and zombie fencing rests on the transactional id.
 */
export class PlatformaticTransaction implements Transaction {
  private state: "open" | "committed" | "aborted" = "open";

  constructor(
    private readonly transactionalId: string,
    private readonly tx: PltTransaction,
    private readonly deps: TransactionDeps,
  ) {}

  async send(records: OutgoingRecord[]): Promise<void> {
    this.assertOpen();
    await this.deps.produce(records);
  }

  async sendOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    for (const o of offsets) assertOffset(o, "sendOffsets");
    if (offsets.length === 0) return;
    try {
      const coordinatorId = await this.deps.groupCoordinator(groupId);
      // The client only reads `groupId` from the consumer it is given.
      await this.tx.addConsumer({ groupId } as PltConsumer<Buffer, Buffer, string, string>);
      const consumer = { groupId, generationId: -1, memberId: "", coordinatorId };
      // One TxnOffsetCommit per partition, one at a time: the client deduplicates concurrent ones.
      for (const o of offsets) {
        // The client commits `offset + 1` of the message it is given, so hand it the record before.
        const message = {
          topic: o.topic,
          partition: o.partition,
          offset: BigInt(o.offset) - 1n,
          metadata: { consumer },
        } as unknown as PltMessage<Buffer, Buffer, string, string>;
        await this.tx.addOffset(message);
      }
    } catch (err) {
      this.deps.onError(err);
      throw fromPlatformaticError(
        err,
        `sending offsets of group ${groupId} in transaction ${this.transactionalId}`,
      );
    }
  }

  /** On failure the transaction stays open so the caller can `abort()` it. */
  async commit(): Promise<void> {
    this.assertOpen();
    try {
      await this.tx.commit();
    } catch (err) {
      this.deps.onError(err);
      throw fromPlatformaticError(err, `committing transaction ${this.transactionalId}`);
    }
    this.state = "committed";
    this.deps.onEnd();
  }

  async abort(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "aborted";
    this.deps.onEnd();
    try {
      await this.tx.abort();
    } catch (err) {
      // A fenced or failed producer may not be able to end it; forget it so a new one can begin.
      await this.tx.cancel().catch(() => undefined);
      this.deps.onError(err);
      throw fromPlatformaticError(err, `aborting transaction ${this.transactionalId}`);
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
