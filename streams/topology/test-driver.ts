import { Registry } from "prom-client";
import { ManualClock, seededRandom } from "../clock.js";
import { describeError } from "../errors.js";
import type { Logger } from "../logger.js";
import { silentLogger } from "../logger.js";
import { ChangeloggedStore, decodeStoreValue, encodeStoreValue } from "../state/kv-store.js";
import type { Headers } from "../transport/transport.js";
import { classifyFailure } from "./failure-policy.js";
import { decodeAvro, encodeAvro } from "./local-codec.js";
import { parseOptions } from "./options.js";
import type { OutputTypes, ProcessorSpec, Rec } from "./processor.js";
import { type Forwarded, Task } from "./task.js";

export interface TestDriverConfig {
  /** Wall clock; advances only through advanceWallClock(). Default starts at 0. */
  clock?: ManualClock;
  seed?: number;
  topic?: string;
  partition?: number;
  logger?: Logger;
  /** How many times a retriable failure is retried before the record is dead-lettered. Default 3. */
  maxRetries?: number;
}

export interface DeadLetter {
  key: string | null;
  value: unknown;
  reason: string;
  code: string;
}

export interface PipeInput<In> {
  key: string | null;
  value: In;
  timestampMs: number;
  headers?: Headers;
}

/**
 * Runs one processor in memory, in the spirit of Kafka Streams' TopologyTestDriver: every record in
 * and out is round-tripped through the real Avro codecs, stream-time timers fire from record
 * timestamps, wall time moves only when told, and restart() rebuilds the processor from its stores'
 * changelog as a restarted instance would.
 */
export class ProcessorTestDriver<In, Out extends OutputTypes, Opts> {
  readonly clock: ManualClock;
  readonly metrics = new Registry();
  readonly dlq: DeadLetter[] = [];
  private readonly outputs = new Map<string, Rec<unknown>[]>();
  private readonly changelogs = new Map<string, Map<string, Buffer | null>>();
  private readonly tables = new Map<string, Map<string, unknown>>();
  private readonly options: Opts;
  private task: Task | undefined;
  private restarts = 0;

  constructor(
    private readonly spec: ProcessorSpec<In, Out, Opts>,
    rawOptions: unknown = {},
    private readonly config: TestDriverConfig = {},
  ) {
    this.clock = config.clock ?? new ManualClock(0);
    this.options = parseOptions(spec.options, rawOptions, spec.name);
  }

  /** Feeds one record (its value is Avro round-tripped first); invalid values go to `dlq`. */
  async pipe(input: PipeInput<In>): Promise<void> {
    const task = await this.ensureTask();
    let value: In;
    try {
      const body = encodeAvro(this.spec.input.schema, input.value, `${this.spec.name} input`);
      value = decodeAvro<In>(this.spec.input.schema, body, `${this.spec.name} input`);
    } catch (err) {
      this.deadLetter(input.key, input.value, err);
      return;
    }
    const rec: Rec<In> = {
      key: input.key,
      value,
      timestampMs: input.timestampMs,
      headers: input.headers ?? {},
    };
    const attempts = (this.config.maxRetries ?? 3) + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        this.collect(await task.process(rec));
        break;
      } catch (err) {
        const action = classifyFailure(err);
        if (action === "crash" || action === "abort") throw err;
        if (action === "retry" && attempt < attempts) continue;
        this.deadLetter(input.key, input.value, err);
        break;
      }
    }
    this.flushStores();
  }

  async pipeAll(inputs: Iterable<PipeInput<In>>): Promise<void> {
    for (const input of inputs) await this.pipe(input);
  }

  /** Moves wall time forward and fires the wall timers that became due. */
  async advanceWallClock(ms: number): Promise<void> {
    const task = await this.ensureTask();
    this.clock.advance(ms);
    this.collect(await task.fireWall(this.clock.nowMs()));
    this.flushStores();
  }

  /** Sets one entry of a table as if it arrived on the table's compacted topic. */
  setTableEntry(table: string, key: string, value: unknown): void {
    let entries = this.tables.get(table);
    if (!entries) {
      entries = new Map();
      this.tables.set(table, entries);
    }
    entries.set(key, value);
  }

  /** Records forwarded to `output` since the last read, in order. */
  read<O extends keyof Out & string>(output: O): Rec<Out[O]>[] {
    const recs = this.outputs.get(output) ?? [];
    this.outputs.set(output, []);
    return recs as Rec<Out[O]>[];
  }

  /** Closes the processor and starts a new instance from the stores' changelogs. */
  async restart(): Promise<void> {
    if (this.task) {
      this.collect(await this.task.close());
      this.flushStores();
    }
    this.task = undefined;
    this.restarts++;
    await this.ensureTask();
  }

  async close(): Promise<void> {
    if (!this.task) return;
    this.collect(await this.task.close());
    this.flushStores();
    this.task = undefined;
  }

  private async ensureTask(): Promise<Task> {
    if (this.task) return this.task;
    const stores = new Map<string, ChangeloggedStore<unknown>>();
    for (const [name, changelog] of this.changelogs) {
      const store = new ChangeloggedStore<unknown>();
      for (const [key, bytes] of changelog) store.restore(key, decodeStoreValue(bytes));
      stores.set(name, store);
    }
    this.task = new Task({
      spec: this.spec,
      options: this.options,
      topic: this.config.topic ?? "input",
      partition: this.config.partition ?? 0,
      logger: this.config.logger ?? silentLogger(),
      clock: this.clock,
      random: seededRandom((this.config.seed ?? 1) + this.restarts),
      metrics: this.metrics,
      stores,
      tables: this.tables,
    });
    this.collect(await this.task.init());
    return this.task;
  }

  private collect(forwarded: Forwarded[]): void {
    for (const { output, rec } of forwarded) {
      const schema = this.spec.outputs[output as keyof Out]?.schema;
      const what = `${this.spec.name} output "${output}"`;
      const value = decodeAvro(schema, encodeAvro(schema, rec.value, what), what);
      let list = this.outputs.get(output);
      if (!list) {
        list = [];
        this.outputs.set(output, list);
      }
      list.push({ ...rec, value });
    }
  }

  private flushStores(): void {
    if (!this.task) return;
    for (const [name, store] of this.task.stores) {
      let changelog = this.changelogs.get(name);
      if (!changelog) {
        changelog = new Map();
        this.changelogs.set(name, changelog);
      }
      for (const [key, value] of store.takeChanges()) changelog.set(key, encodeStoreValue(value));
    }
  }

  private deadLetter(key: string | null, value: unknown, err: unknown): void {
    const code = (err as { code?: unknown }).code;
    this.dlq.push({
      key,
      value,
      reason: describeError(err),
      code: typeof code === "string" ? code : "UNKNOWN",
    });
  }
}
