import { setTimeout as sleep } from "node:timers/promises";
import type { Registry } from "prom-client";
import type { Clock, Random } from "../clock.js";
import { seededRandom } from "../clock.js";
import { isSpikemeshError } from "../errors.js";
import type { Logger } from "../logger.js";
import { ChangeloggedStore, decodeStoreValue } from "../state/kv-store.js";
import type { Consumer, Producer, TopicPartition, Transport } from "../transport/transport.js";
import { tpKey } from "../transport/transport.js";
import type { RecordCodec } from "./codec.js";
import { backoffMs } from "./failure-policy.js";
import { readToEnd } from "./partition-reader.js";
import { PartitionWorker, type WorkerSettings } from "./partition-worker.js";
import { initNodeSeries, type RunnerMetrics } from "./runner-metrics.js";
import { TableReader } from "./table-reader.js";
import { Task } from "./task.js";
import { changelogTopic, groupId, nodeName, type TopologyNode } from "./topology.js";

export interface RunnerSettings extends WorkerSettings {
  /** Longest a poll waits for records. Default 100 ms. */
  maxWaitMs: number;
  /**
   * How long a node keeps reconnecting after transport failures (retriable errors from polls,
   * sends, commits, transactions: a broker restart) before it gives up and crashes. 0: crash on
   * the first one. Default 300 000 ms.
   */
  reconnectWithinMs: number;
  /** Pause a partition when this many records wait in its queue; resume below half. Default 5000. */
  maxQueuedRecords: number;
  /** How often wall-clock timers are checked. Default 100 ms. */
  wallTickMs: number;
}

export interface RuntimeDeps {
  transport: Transport;
  codec: RecordCodec;
  logger: Logger;
  clock: Clock;
  metrics: Registry;
  runnerMetrics: RunnerMetrics;
  /** Seed of each task's random source (combined with node name and partition). */
  seed: number;
}

/**
 * Runs one topology node: a consumer in the node's group, a task per assigned partition, a poll
 * loop that feeds per-partition workers and pauses partitions whose queue is full (backpressure).
 */
export class NodeRunner {
  readonly name: string;
  private readonly group: string;
  private readonly log: Logger;
  private readonly workers = new Map<string, Promise<PartitionWorker>>();
  private readonly paused = new Set<string>();
  private readonly tables: TableReader[] = [];
  private pollAbort = new AbortController();
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private loop: Promise<void> | null = null;
  private wallTimer: NodeJS.Timeout | null = null;
  private crashed: ((err: unknown) => void) | null = null;
  private readonly stopAbort = new AbortController();
  /** Jitter of reconnection backoffs. */
  private readonly random: Random;
  /** The reconnection in progress after a transport failure, if any. */
  private recovery: Promise<void> | null = null;
  /** When the current run of transport failures began (null while healthy). */
  private outageSinceMs: number | null = null;
  readonly crash: Promise<never>;

  constructor(
    private readonly appId: string,
    private readonly node: TopologyNode,
    private readonly options: unknown,
    private readonly deps: RuntimeDeps,
    private readonly settings: RunnerSettings,
  ) {
    this.name = nodeName(node);
    this.group = groupId(appId, node);
    this.random = seededRandom(hashSeed(deps.seed + 2, this.name, -1));
    this.log = deps.logger.child({ processor: this.name });
    this.crash = new Promise<never>((_, reject) => {
      this.crashed = reject;
    });
    this.crash.catch(() => undefined);
  }

  async start(): Promise<void> {
    const { transport } = this.deps;
    initNodeSeries(this.deps.runnerMetrics, this.name, this.node.input, Object.values(this.node.outputs));
    for (const [name, topic] of Object.entries(this.node.tables ?? {})) {
      const type = this.node.spec.tables?.[name];
      if (!type) continue;
      const reader = new TableReader({
        transport,
        codec: this.deps.codec,
        name,
        topic,
        type,
        groupId: `${this.group}.table.${name}`,
        log: this.log,
      });
      await reader.start();
      this.tables.push(reader);
    }
    await this.connect();
    this.wallTimer = setInterval(() => {
      const now = this.deps.clock.nowMs();
      for (const w of this.workers.values())
        void w.then(
          (worker) => worker.tick(now),
          () => undefined,
        );
    }, this.settings.wallTickMs);
    this.wallTimer.unref();
    this.log.debug({ group: this.group, input: this.node.input }, "node started");
  }

  /**
   * Stops polling, finishes and commits each partition's batch in flight (queued records are left
   * uncommitted for the next owner), closes tasks and their producers, then the consumer and producer.
   */
  async stop(): Promise<void> {
    this.stopAbort.abort();
    if (this.wallTimer) clearInterval(this.wallTimer);
    await this.recovery;
    this.pollAbort.abort();
    await this.loop?.catch(() => undefined);
    await this.revoke(this.consumer?.assignment() ?? [], true);
    for (const [key, pending] of this.workers) {
      await pending.then((w) => w.idle()).catch(() => undefined);
      this.workers.delete(key);
    }
    for (const table of this.tables) await table.stop();
    await this.consumer?.close();
    await this.producer?.close();
  }

  /** A consumer in the node's group (and the shared producer at-least-once), polling. */
  private async connect(): Promise<void> {
    const { transport } = this.deps;
    // Exactly-once uses a transactional producer per partition instead (see createWorker).
    if (!this.settings.exactlyOnce) this.producer = transport.producer({ idempotent: true });
    this.consumer = transport.consumer({ groupId: this.group, autoOffsetReset: "earliest" });
    try {
      await this.consumer.subscribe([this.node.input], {
        onRevoked: (partitions) => this.revoke(partitions),
      });
    } catch (err) {
      // A consumer left behind could join the group later and hold partitions it never polls.
      await boundedClose(this.consumer, this.log);
      await boundedClose(this.producer, this.log);
      this.consumer = null;
      this.producer = null;
      throw err;
    }
    this.pollAbort = new AbortController();
    this.loop = this.pollLoop();
  }

  private async pollLoop(): Promise<void> {
    const consumer = this.consumer!;
    const signal = this.pollAbort.signal;
    while (!signal.aborted) {
      let recs: Awaited<ReturnType<Consumer["poll"]>>;
      try {
        recs = await consumer.poll({
          maxRecords: this.settings.maxBatchRecords,
          maxWaitMs: this.settings.maxWaitMs,
          signal,
        });
      } catch (err) {
        if (signal.aborted) return;
        this.fail(err);
        return;
      }
      if (recs.length > 0) this.outageSinceMs = null;
      const byPartition = new Map<number, typeof recs>();
      for (const rec of recs) {
        let list = byPartition.get(rec.partition);
        if (!list) {
          list = [];
          byPartition.set(rec.partition, list);
        }
        list.push(rec);
      }
      for (const [partition, list] of byPartition) {
        const tp = { topic: this.node.input, partition };
        const worker = await this.worker(tp).catch((err: unknown) => {
          this.fail(err);
          return null;
        });
        if (!worker) return;
        worker.enqueue(list);
        if (worker.queued >= this.settings.maxQueuedRecords && !this.paused.has(tpKey(tp))) {
          this.paused.add(tpKey(tp));
          consumer.pause([tp]);
          this.deps.runnerMetrics.paused.set({ processor: this.name }, this.paused.size);
        }
      }
    }
  }

  private worker(tp: TopicPartition): Promise<PartitionWorker> {
    const key = tpKey(tp);
    let pending = this.workers.get(key);
    if (!pending) {
      pending = this.createWorker(tp);
      this.workers.set(key, pending);
      this.deps.runnerMetrics.assigned.set({ processor: this.name }, this.workers.size);
    }
    return pending;
  }

  private async createWorker(tp: TopicPartition): Promise<PartitionWorker> {
    const { spec } = this.node;
    const changelogs = new Map<string, string>();
    const stores = new Map<string, ChangeloggedStore<unknown>>();
    for (const store of spec.stores ?? []) {
      const topic = changelogTopic(this.appId, this.node, store);
      changelogs.set(store, topic);
      const restored = new ChangeloggedStore<unknown>();
      await readToEnd(this.deps.transport, topic, [tp.partition], `${this.group}.restore`, (rec) => {
        if (rec.partition === tp.partition && rec.key)
          restored.restore(rec.key.toString("utf8"), decodeStoreValue(rec.value));
      });
      stores.set(store, restored);
    }
    const task = new Task({
      spec,
      options: this.options,
      topic: tp.topic,
      partition: tp.partition,
      logger: this.deps.logger,
      clock: this.deps.clock,
      random: seededRandom(hashSeed(this.deps.seed, this.name, tp.partition)),
      metrics: this.deps.metrics,
      stores,
      tables: new Map(this.tables.map((t) => [t.name, t.entries] as const)),
    });
    // Exactly-once: a transactional producer per input partition, like Kafka Streams' per-task
    // producers. A producer has one open transaction at a time, so partitions sharing one would
    // collide, and a node-wide transactionalId would let a second instance of the node fence the
    // first; per partition, the next owner fences only a zombie owner of the same partition.
    const producer = this.settings.exactlyOnce
      ? this.deps.transport.producer({
          transactionalId: `${this.group}.tx.${tp.topic}.${tp.partition}`,
          idempotent: true,
        })
      : this.producer!;
    const worker = new PartitionWorker({
      processor: this.name,
      groupId: this.group,
      spec,
      tp,
      task,
      outputs: this.node.outputs,
      changelogs,
      producer,
      codec: this.deps.codec,
      commit: (offset) => this.consumer!.commit([{ ...tp, offset }]),
      metrics: this.deps.runnerMetrics,
      random: seededRandom(hashSeed(this.deps.seed + 1, this.name, tp.partition)),
      log: this.log.child({ partition: tp.partition }),
      settings: this.settings,
      onProgress: () => this.progress(tp, worker),
    });
    const initial = await task.init();
    if (initial.length > 0) {
      throw new RangeError(
        `${this.name}: init() may not forward records (forward from process() or a timer)`,
      );
    }
    return worker;
  }

  private progress(tp: TopicPartition, worker: PartitionWorker): void {
    if (worker.failed) {
      this.fail(worker.failed);
      return;
    }
    this.outageSinceMs = null;
    const key = tpKey(tp);
    if (this.paused.has(key) && worker.queued < this.settings.maxQueuedRecords / 2) {
      this.paused.delete(key);
      this.consumer?.resume([tp]);
      this.deps.runnerMetrics.paused.set({ processor: this.name }, this.paused.size);
    }
  }

  private async revoke(partitions: TopicPartition[], final = false): Promise<void> {
    for (const tp of partitions) {
      const key = tpKey(tp);
      const pending = this.workers.get(key);
      if (!pending) continue;
      const worker = await pending.catch(() => null);
      if (!worker) continue;
      await worker.close().catch((err: unknown) => this.fail(err));
      this.workers.delete(key);
      // The consumer keeps its own pause set: a partition that comes back must not stay paused.
      if (this.paused.delete(key)) this.consumer?.resume([tp]);
    }
    if (!final) this.deps.runnerMetrics.assigned.set({ processor: this.name }, this.workers.size);
    this.deps.runnerMetrics.paused.set({ processor: this.name }, this.paused.size);
  }

  /**
   * A retriable SpikemeshError that reaches here came from the transport (record-level ones are
   * retried and dead-lettered by the worker): the node reconnects, within `reconnectWithinMs` of
   * the first failure. Anything else crashes the node.
   */
  private fail(err: unknown): void {
    if (this.stopAbort.signal.aborted || this.recovery !== null) return;
    const now = performance.now();
    this.outageSinceMs ??= now;
    const isTransient = isSpikemeshError(err) && err.retriable;
    if (!isTransient || now - this.outageSinceMs >= this.settings.reconnectWithinMs) {
      this.log.error({ err }, "node failed; stopping");
      this.crashed?.(err);
      return;
    }
    this.log.warn({ err }, "transport failed; reconnecting (uncommitted records will be read again)");
    this.deps.runnerMetrics.reconnects.inc({ processor: this.name });
    this.recovery = this.reconnect()
      .catch((reconnectErr: unknown) => {
        this.log.error({ err: reconnectErr }, "node could not reconnect; stopping");
        this.crashed?.(reconnectErr);
      })
      .finally(() => {
        this.recovery = null;
      });
  }

  /**
   * Drops the consumer, the producers and every partition worker without committing anything
   * (exactly-once: their open transactions are aborted by the next owner's fencing), then joins the
   * group again after a backoff; partitions resume from their committed offsets.
   */
  private async reconnect(): Promise<void> {
    this.pollAbort.abort();
    await this.loop?.catch(() => undefined);
    for (const [key, pending] of this.workers) {
      this.workers.delete(key);
      const worker = await pending.catch(() => null);
      await worker?.abandon();
    }
    this.paused.clear();
    this.deps.runnerMetrics.assigned.set({ processor: this.name }, 0);
    this.deps.runnerMetrics.paused.set({ processor: this.name }, 0);
    const consumer = this.consumer;
    const producer = this.producer;
    this.consumer = null;
    this.producer = null;
    await boundedClose(consumer, this.log);
    await boundedClose(producer, this.log);
    const stopped = this.stopAbort.signal;
    for (let attempt = 0; !stopped.aborted; attempt++) {
      const waitMs = backoffMs(attempt, 500, 10_000, () => this.random.next());
      await sleep(waitMs, undefined, { signal: stopped }).catch(() => undefined);
      if (stopped.aborted) return;
      try {
        await this.connect();
        this.log.info({ attempt }, "reconnected");
        return;
      } catch (err) {
        if (!(isSpikemeshError(err) && err.retriable)) throw err;
        if (performance.now() - (this.outageSinceMs ?? 0) >= this.settings.reconnectWithinMs) throw err;
        this.log.warn({ err }, "reconnecting failed; trying again");
      }
    }
  }
}

/** Closes a consumer or producer of a failed connection, waiting at most 10 s (the broker may be gone). */
async function boundedClose(client: { close(): Promise<void> } | null, log: Logger): Promise<void> {
  if (client === null) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 10_000);
  });
  try {
    await Promise.race([client.close().catch((err: unknown) => log.debug({ err }, "close failed")), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function hashSeed(seed: number, name: string, partition: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of `${name}/${partition}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}
