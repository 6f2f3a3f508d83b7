import { setTimeout as sleep } from "node:timers/promises";
import type { Random } from "../clock.js";
import { SpikemeshError } from "../errors.js";
import type { Logger } from "../logger.js";
import { encodeStoreValue } from "../state/kv-store.js";
import type { IncomingRecord, OutgoingRecord, Producer, TopicPartition } from "../transport/transport.js";
import { CODEC_PENDING, type RecordCodec } from "./codec.js";
import { deadLetter } from "./dlq.js";
import { backoffMs, classifyFailure } from "./failure-policy.js";
import type { AnyProcessorSpec, Rec } from "./processor.js";
import type { RunnerMetrics } from "./runner-metrics.js";
import type { Forwarded, Task } from "./task.js";

export interface WorkerSettings {
  maxBatchRecords: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  exactlyOnce: boolean;
  /**
   * Publish a batch (send, then commit) while the next one is processed; the next is published only
   * after it, so sends and commits keep their order. At-least-once only.
   */
  overlapPublish: boolean;
}

export interface WorkerDeps {
  processor: string;
  groupId: string;
  spec: AnyProcessorSpec;
  tp: TopicPartition;
  task: Task;
  outputs: Record<string, string>;
  changelogs: Map<string, string>;
  /** Exactly-once: this partition's own transactional producer, closed by close(). */
  producer: Producer;
  codec: RecordCodec;
  commit(offset: number): Promise<void>;
  metrics: RunnerMetrics;
  random: Random;
  log: Logger;
  settings: WorkerSettings;
  /** Called after each batch so the poll loop can resume a paused partition. */
  onProgress(): void;
}

/** A wall-clock tick queued between records (records are queued as they are, without a wrapper). */
class WallTick {
  constructor(readonly nowMs: number) {}
}

type Item = IncomingRecord | WallTick;

/**
 * Drains one partition's queue in order: decode, process (with retries), encode outputs, then one
 * send of outputs + dead letters + store changes, then the offset commit (or all of it in one
 * transaction for exactly-once). A record is committed only after everything it caused was sent.
 */
export class PartitionWorker {
  private queue: Item[] = [];
  private head = 0;
  private running: Promise<void> | null = null;
  private tickQueued = false;
  private isClosing = false;
  private failure: unknown = null;

  /** Metric children bound once (prom-client hashes a label object on every call otherwise). */
  private readonly processSeconds: { observe(value: number): void };
  private readonly recordsIn: { inc(value?: number): void };

  constructor(private readonly deps: WorkerDeps) {
    this.processSeconds = deps.metrics.processSeconds.labels({ processor: deps.processor });
    this.recordsIn = deps.metrics.recordsIn.labels({ processor: deps.processor, topic: deps.tp.topic });
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  get failed(): unknown {
    return this.failure;
  }

  enqueue(recs: IncomingRecord[]): void {
    if (this.isClosing) return;
    for (const rec of recs) this.queue.push(rec);
    this.kick();
  }

  tick(nowMs: number): void {
    if (this.tickQueued || this.isClosing) return;
    this.tickQueued = true;
    this.queue.push(new WallTick(nowMs));
    this.kick();
  }

  /** Resolves when the queue is empty and nothing is in flight; rejects if the worker crashed. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure) throw this.failure;
  }

  /**
   * Graceful stop (shutdown or revocation): finishes and commits the batch in flight, drops the
   * records still queued (they are uncommitted, so whoever owns the partition next reads them
   * again), closes the task, publishes what close() forwarded and stored, and closes a transactional
   * producer. Rejects if the worker crashed.
   */
  async close(): Promise<void> {
    this.isClosing = true;
    this.queue = [];
    this.head = 0;
    try {
      await this.idle();
      const out = await this.encodeAll(await this.deps.task.close());
      this.appendStoreChanges(out);
      if (out.length > 0) await this.publish(out, -1);
    } finally {
      // Exactly-once workers own their transactional producer (see NodeRunner.createWorker).
      if (this.deps.settings.exactlyOnce) await this.deps.producer.close();
    }
  }

  /**
   * Dirty stop after a transport failure: drops the queue, lets the batch in flight settle (it may
   * fail), closes the task without publishing what close() forwarded or stored, and closes a
   * transactional producer (aborting its open transaction if the broker can still be reached).
   * Nothing is committed, so the next owner starts from the last committed offset; the store is
   * rebuilt from its changelog.
   */
  async abandon(): Promise<void> {
    this.isClosing = true;
    this.queue = [];
    this.head = 0;
    while (this.running) await this.running;
    await this.deps.task.close().catch(() => undefined);
    if (this.deps.settings.exactlyOnce) await this.deps.producer.close().catch(() => undefined);
  }

  private kick(): void {
    if (this.running || this.failure) return;
    this.running = this.drain().finally(() => {
      this.running = null;
    });
  }

  /**
   * Takes batches off the queue until it is empty, publishing each (one transaction for
   * exactly-once). With `overlapPublish`, a batch's send and commit run while the next batch is
   * processed, and that batch is published only after them: sends and commits keep their order, and
   * no commit covers a record whose outputs were not sent.
   */
  private async drain(): Promise<void> {
    let publishing: Promise<void> | null = null;
    try {
      for (;;) {
        if (this.queued === 0 || this.deps.task.signal.aborted) {
          if (!publishing) return;
          // Records may arrive while the last publish is in flight: look again after it.
          const last: Promise<void> = publishing;
          publishing = null;
          await last;
          continue;
        }
        const end = Math.min(this.queue.length, this.head + this.deps.settings.maxBatchRecords);
        const batch = this.queue.slice(this.head, end);
        this.head = end;
        if (this.head > 4096 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        const done = await this.runBatch(batch);
        if (publishing) {
          const previous: Promise<void> = publishing;
          publishing = null;
          await previous;
        }
        if (done) {
          const sent = this.publish(done.out, done.nextOffset);
          if (!this.deps.settings.overlapPublish) await sent;
          else {
            publishing = sent;
            sent.catch(() => undefined); // awaited before the next publish or the end of the drain
          }
        }
        this.deps.onProgress();
      }
    } catch (err) {
      this.failure = err;
      this.deps.onProgress();
    }
  }

  /** Processes a batch; returns what to publish (outputs, dead letters, store changes, next offset), if anything. */
  private async runBatch(batch: Item[]): Promise<{ out: OutgoingRecord[]; nextOffset: number } | null> {
    const out: OutgoingRecord[] = [];
    let nextOffset = -1;
    let started = 0;
    try {
      for (const item of batch) {
        if (item instanceof WallTick) {
          this.tickQueued = false;
          out.push(...(await this.encodeAll(await this.deps.task.fireWall(item.nowMs))));
          continue;
        }
        started++;
        let done = this.processOne(item, out);
        if (done !== true && done !== false) done = await done;
        if (!done) break;
        nextOffset = item.offset + 1;
      }
    } finally {
      // Counted per batch: prom-client hashes the labels on every inc().
      if (started > 0) this.recordsIn.inc(started);
    }
    this.appendStoreChanges(out);
    return out.length === 0 && nextOffset < 0 ? null : { out, nextOffset };
  }

  /**
   * Decodes and processes one record, appending what it produced (or its dead letter) to `out`.
   * Returns false when the task was aborted (shutdown): the record stays uncommitted. Without a
   * promise when the codec decodes from cache, the processor is synchronous, no timer is due and
   * nothing was forwarded, which is most records of a filter; anything else continues in
   * `processAsync`.
   */
  private processOne(rec: IncomingRecord, out: OutgoingRecord[]): boolean | Promise<boolean> {
    const started = performance.now();
    let forwarded: Forwarded[] | Promise<Forwarded[]>;
    try {
      forwarded = this.attempt(rec);
    } catch (err) {
      return this.processAsync(rec, out, started, { error: err });
    }
    if (!Array.isArray(forwarded)) return this.processAsync(rec, out, started, { forwarded });
    if (forwarded.length > 0) {
      let encoded: OutgoingRecord[] | null;
      try {
        encoded = this.encodeAllSync(forwarded);
      } catch (err) {
        return this.processAsync(rec, out, started, { error: err });
      }
      if (encoded === null) return this.processAsync(rec, out, started, { forwarded });
      for (const r of encoded) out.push(r);
    }
    this.processSeconds.observe((performance.now() - started) / 1000);
    return true;
  }

  /** One try at a record: decode (from the codec's cache when it can), then the task. */
  private attempt(rec: IncomingRecord): Forwarded[] | Promise<Forwarded[]> {
    if (rec.value === null) {
      throw new SpikemeshError(
        "RECORD_INVALID",
        "record has a null value (tombstone) where a record was expected",
      );
    }
    const { codec, spec, task } = this.deps;
    const value = codec.decodeSync ? codec.decodeSync(rec.topic, spec.input, rec.value) : CODEC_PENDING;
    if (value !== CODEC_PENDING) return task.process(toRec(rec, value));
    return codec
      .decode(rec.topic, spec.input, rec.value)
      .then((decoded) => task.process(toRec(rec, decoded)));
  }

  /**
   * The rest of processOne once the first try failed, returned a promise or forwarded records:
   * encodes the outputs, and on failure retries (with backoff), dead-letters or crashes as
   * classifyFailure says.
   */
  private async processAsync(
    rec: IncomingRecord,
    out: OutgoingRecord[],
    started: number,
    first: { error: unknown } | { forwarded: Forwarded[] | Promise<Forwarded[]> },
  ): Promise<boolean> {
    const { metrics, processor, settings } = this.deps;
    for (let attempt = 0; ; attempt++) {
      try {
        let forwarded: Forwarded[];
        if (attempt > 0) forwarded = await this.attempt(rec);
        else if ("error" in first) throw first.error;
        else forwarded = await first.forwarded;
        out.push(...(await this.encodeAll(forwarded)));
        this.processSeconds.observe((performance.now() - started) / 1000);
        return true;
      } catch (err) {
        let action = classifyFailure(err);
        // The task's signal is aborted only after its last batch, so an abort here that is not ours
        // is the processor's own cancellation (a deadline): transient, not a shutdown. Skipping the
        // record would let the next batch commit past it.
        if (action === "abort" && !this.deps.task.signal.aborted) action = "retry";
        if (action === "abort") return false;
        if (action === "crash") {
          this.deps.log.error({ err, offset: rec.offset }, "processing failed with an unexpected error");
          throw err;
        }
        if (action === "retry" && attempt < settings.maxRetries) {
          metrics.retries.inc({ processor });
          const wait = backoffMs(attempt, settings.retryBaseMs, settings.retryMaxMs, () =>
            this.deps.random.next(),
          );
          try {
            await sleep(wait, undefined, { signal: this.deps.task.signal });
          } catch {
            return false;
          }
          continue;
        }
        const dead = deadLetter(rec, processor, err);
        const code = dead.headers?.["spikemesh.error.code"] ?? "UNKNOWN";
        metrics.deadLettered.inc({ processor, topic: rec.topic, code });
        this.deps.log.warn(
          { offset: rec.offset, code, reason: dead.headers?.["spikemesh.error.message"] },
          "dead-lettered",
        );
        out.push(dead);
        return true;
      }
    }
  }

  /** `encodeAll` without a promise, or null when the codec has to register or fetch first. */
  private encodeAllSync(forwarded: Forwarded[]): OutgoingRecord[] | null {
    const { codec } = this.deps;
    if (!codec.encodeSync) return null;
    const records: OutgoingRecord[] = [];
    for (const { output, rec } of forwarded) {
      const { topic, type } = this.outputOf(output);
      const value = codec.encodeSync(topic, type, rec.value);
      if (value === CODEC_PENDING) return null;
      records.push(this.outgoing(topic, rec, value as Buffer));
    }
    return records;
  }

  private outputOf(output: string): { topic: string; type: AnyProcessorSpec["outputs"][string] } {
    const topic = this.deps.outputs[output];
    const type = this.deps.spec.outputs[output];
    if (!topic || !type) throw new RangeError(`output "${output}" of ${this.deps.processor} is not bound`);
    return { topic, type };
  }

  private outgoing(topic: string, rec: Rec<unknown>, value: Buffer): OutgoingRecord {
    return {
      topic,
      key: rec.key === null ? null : Buffer.from(rec.key),
      value,
      headers: rec.headers,
      timestampMs: rec.timestampMs,
    };
  }

  private async encodeAll(forwarded: Forwarded[]): Promise<OutgoingRecord[]> {
    const records: OutgoingRecord[] = [];
    for (const { output, rec } of forwarded) {
      const { topic, type } = this.outputOf(output);
      records.push(this.outgoing(topic, rec, await this.deps.codec.encode(topic, type, rec.value)));
    }
    return records;
  }

  private appendStoreChanges(out: OutgoingRecord[]): void {
    for (const [name, store] of this.deps.task.stores) {
      const topic = this.deps.changelogs.get(name);
      if (!topic) continue;
      for (const [key, value] of store.takeChanges()) {
        out.push({
          topic,
          partition: this.deps.tp.partition,
          key: Buffer.from(key),
          value: encodeStoreValue(value),
        });
      }
    }
  }

  private async publish(out: OutgoingRecord[], nextOffset: number): Promise<void> {
    const { producer, metrics, processor, tp, settings } = this.deps;
    if (settings.exactlyOnce) {
      const tx = await producer.transaction();
      try {
        if (out.length > 0) await tx.send(out);
        if (nextOffset >= 0) await tx.sendOffsets(this.deps.groupId, [{ ...tp, offset: nextOffset }]);
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
    } else {
      if (out.length > 0) await producer.send(out);
      if (nextOffset >= 0) await this.deps.commit(nextOffset);
    }
    const perTopic = new Map<string, number>();
    for (const rec of out) perTopic.set(rec.topic, (perTopic.get(rec.topic) ?? 0) + 1);
    for (const [topic, n] of perTopic) metrics.recordsOut.inc({ processor, topic }, n);
    if (nextOffset >= 0) metrics.commits.inc({ processor });
  }
}

function toRec(rec: IncomingRecord, value: unknown): Rec<unknown> {
  return {
    key: rec.key === null ? null : rec.key.toString("utf8"),
    value,
    timestampMs: rec.timestampMs,
    headers: rec.headers,
  };
}
