import { SpikemeshError } from "../errors.js";
import type {
  OutgoingRecord,
  Producer,
  ProducerOptions,
  RecordMetadata,
  TopicPartitionOffset,
  Transaction,
} from "../transport/transport.js";
import type { OffsetStore } from "./offset-store.js";
import {
  appendBatches,
  type BatchingDeps,
  groupByPartition,
  type PartitionBatch,
} from "./outgoing-batches.js";
import type { TransactionJournal } from "./transaction-journal.js";

export interface ProducerDeps extends BatchingDeps {
  offsets: OffsetStore;
  journal: TransactionJournal;
  /** transactionalId → epoch of its newest producer; older producers are fenced. */
  epochs: Map<string, number>;
  onClosed(producer: EmbeddedProducer): void;
}

/**
 * Producer on the embedded log. `send` validates every record first, then writes one batch per
 * partition with a single `writeSync` each; it resolves once the bytes are in the page cache
 * (and on disk with the transport's `fsync`). Every send is exactly-once by construction.
 */
export class EmbeddedProducer implements Producer {
  private readonly epoch: number;
  private current: EmbeddedTransaction | null = null;
  private isClosed = false;

  constructor(
    private readonly options: ProducerOptions,
    private readonly deps: ProducerDeps,
  ) {
    const id = options.transactionalId;
    this.epoch = id === undefined ? 0 : (deps.epochs.get(id) ?? 0) + 1;
    if (id !== undefined) deps.epochs.set(id, this.epoch);
  }

  async send(records: OutgoingRecord[]): Promise<RecordMetadata[]> {
    this.assertOpen();
    if (this.options.transactionalId !== undefined) {
      throw new SpikemeshError(
        "INVARIANT",
        `producer ${this.options.transactionalId} is transactional: send inside transaction()`,
      );
    }
    return appendBatches(groupByPartition(records, this.deps), records.length);
  }

  async transaction(): Promise<Transaction> {
    this.assertOpen();
    const id = this.options.transactionalId;
    if (id === undefined) {
      throw new SpikemeshError("INVARIANT", "transaction() needs a producer created with a transactionalId");
    }
    this.assertNotFenced(id);
    if (this.current !== null) {
      throw new SpikemeshError("INVARIANT", `producer ${id} already has an open transaction`);
    }
    this.current = new EmbeddedTransaction(
      id,
      this.deps,
      () => this.assertNotFenced(id),
      () => {
        this.current = null;
      },
    );
    return this.current;
  }

  /** Aborts an open transaction and closes. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    await this.current?.abort();
    this.isClosed = true;
    this.deps.onClosed(this);
  }

  private assertNotFenced(id: string): void {
    if (this.deps.epochs.get(id) !== this.epoch) {
      throw new SpikemeshError(
        "INVARIANT",
        `producer ${id} was fenced by a newer producer with the same transactionalId`,
      );
    }
  }

  private assertOpen(): void {
    if (this.isClosed) throw new SpikemeshError("CLOSED", "producer is closed");
  }
}

/**
 * Buffers sends and offsets in memory; nothing is visible until `commit`, which applies them
 * through the transaction journal (see {@link TransactionJournal} for the crash guarantee).
 * Records are validated and partitioned at `send`, offsets are assigned at `commit`.
 */
export class EmbeddedTransaction implements Transaction {
  private readonly batches = new Map<unknown, PartitionBatch>();
  private readonly offsets = new Map<string, TopicPartitionOffset & { groupId: string }>();
  private state: "open" | "committed" | "aborted" = "open";

  constructor(
    private readonly transactionalId: string,
    private readonly deps: ProducerDeps,
    private readonly checkFenced: () => void,
    private readonly onEnd: () => void,
  ) {}

  async send(records: OutgoingRecord[]): Promise<void> {
    this.assertOpen();
    for (const b of groupByPartition(records, this.deps)) {
      const existing = this.batches.get(b.log);
      if (existing === undefined) this.batches.set(b.log, b);
      else for (const r of b.records) existing.records.push(r);
    }
  }

  async sendOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    for (const o of offsets) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new SpikemeshError("RECORD_INVALID", `offset ${o.offset} is not a non-negative integer`, {
          context: { topic: o.topic, partition: o.partition },
        });
      }
      this.offsets.set(`${groupId}\u0000${o.topic}\u0000${o.partition}`, { groupId, ...o });
    }
  }

  async commit(): Promise<void> {
    this.assertOpen();
    this.checkFenced();
    this.state = "committed";
    this.onEnd();
    this.deps.journal.commit(
      this.transactionalId,
      [...this.batches.values()],
      [...this.offsets.values()],
      this.deps.offsets,
    );
  }

  async abort(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "aborted";
    this.batches.clear();
    this.offsets.clear();
    this.onEnd();
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
