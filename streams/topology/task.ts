import type { Registry } from "prom-client";
import type { Clock, Random } from "../clock.js";
import type { Logger } from "../logger.js";
import { ChangeloggedStore } from "../state/kv-store.js";
import type {
  AnyProcessorSpec,
  KeyValueStore,
  OutputTypes,
  Processor,
  ProcessorContext,
  Rec,
  TimerClock,
} from "./processor.js";
import { TimerSet } from "./timers.js";

export interface TaskOptions {
  spec: AnyProcessorSpec;
  /** Already validated against spec.options. */
  options: unknown;
  topic: string;
  partition: number;
  logger: Logger;
  clock: Clock;
  random: Random;
  metrics: Registry;
  /** Restored stores, one per name in spec.stores; created empty when missing. */
  stores?: Map<string, ChangeloggedStore<unknown>>;
  /** Latest value per key of each table in spec.tables, kept current by the runtime. */
  tables?: Map<string, Map<string, unknown>>;
}

export interface Forwarded {
  output: string;
  rec: Rec<unknown>;
}

/**
 * One processor instance bound to one input partition: its context, stores, timers and the
 * records it forwarded. Both the runner and the test driver drive tasks, so the semantics of
 * forward/schedule/store are the same everywhere.
 */
export class Task {
  readonly stores: Map<string, ChangeloggedStore<unknown>>;
  private readonly controller = new AbortController();
  private readonly timers = new TimerSet();
  private readonly processor: Processor<unknown, OutputTypes>;
  private readonly ctx: ProcessorContext<OutputTypes>;
  private pending: Forwarded[] = [];
  private streamTime = Number.NEGATIVE_INFINITY;

  constructor(opts: TaskOptions) {
    const { spec } = opts;
    this.stores = opts.stores ?? new Map();
    for (const name of spec.stores ?? []) {
      if (!this.stores.has(name)) this.stores.set(name, new ChangeloggedStore());
    }
    const tables = opts.tables ?? new Map<string, Map<string, unknown>>();
    const outputs = new Set(Object.keys(spec.outputs));
    const log = opts.logger.child({ processor: spec.name, topic: opts.topic, partition: opts.partition });
    const task = this;
    this.ctx = {
      forward(to, rec) {
        if (!outputs.has(to)) {
          throw new RangeError(`processor ${spec.name} forwarded to unknown output "${to}"`);
        }
        task.pending.push({ output: to, rec });
      },
      schedule: (everyMs: number, clock: TimerClock, tick: (nowMs: number) => void | Promise<void>) =>
        this.timers.add(everyMs, clock, clock === "wall" ? opts.clock.nowMs() : this.streamTime, tick),
      store: <V>(name: string): KeyValueStore<V> => {
        const store = this.stores.get(name);
        if (!store) throw new RangeError(`processor ${spec.name} has no store "${name}" in its spec`);
        return store as ChangeloggedStore<V>;
      },
      table: <V>(name: string): ReadonlyMap<string, V> => {
        if (!spec.tables || !(name in spec.tables)) {
          throw new RangeError(`processor ${spec.name} has no table "${name}" in its spec`);
        }
        let table = tables.get(name);
        if (!table) {
          table = new Map();
          tables.set(name, table);
        }
        return table as ReadonlyMap<string, V>;
      },
      signal: this.controller.signal,
      log,
      clock: opts.clock,
      random: opts.random,
      metrics: opts.metrics,
      processorName: spec.name,
      topic: opts.topic,
      partition: opts.partition,
      get streamTimeMs() {
        return task.streamTime;
      },
    };
    this.processor = spec.create(opts.options) as Processor<unknown, OutputTypes>;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get streamTimeMs(): number {
    return this.streamTime;
  }

  /** Runs init(); records it forwarded are returned like any others. */
  async init(): Promise<Forwarded[]> {
    await this.processor.init?.(this.ctx);
    return this.take();
  }

  /**
   * Processes one record, then fires stream-time timers the record made due. On failure the
   * records forwarded during this call are discarded, so a dead-lettered input produces nothing.
   */
  process(rec: Rec<unknown>): Forwarded[] | Promise<Forwarded[]> {
    const firstRecord = !Number.isFinite(this.streamTime);
    if (rec.timestampMs > this.streamTime) this.streamTime = rec.timestampMs;
    if (firstRecord) this.timers.anchorStream(this.streamTime);
    let result: void | Promise<void>;
    try {
      result = this.processor.process(rec, this.ctx);
    } catch (err) {
      this.pending = [];
      throw err;
    }
    // A synchronous processor with no timer due finishes without a promise (the common case).
    if (isThenable(result)) return this.finishAsync(result);
    const fired = this.timers.fire("stream", this.streamTime);
    return fired ? fired.then(() => this.take()) : this.take();
  }

  private async finishAsync(processing: PromiseLike<void>): Promise<Forwarded[]> {
    try {
      await processing;
    } catch (err) {
      this.pending = [];
      throw err;
    }
    await this.timers.fire("stream", this.streamTime);
    return this.take();
  }

  /** Fires wall-clock timers due at `nowMs`. */
  async fireWall(nowMs: number): Promise<Forwarded[]> {
    await this.timers.fire("wall", nowMs);
    return this.take();
  }

  /** Aborts the signal and calls close(); records forwarded by close() are returned. */
  async close(): Promise<Forwarded[]> {
    this.controller.abort();
    await this.processor.close?.();
    return this.take();
  }

  private take(): Forwarded[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === "function";
}
