import type { Registry } from "prom-client";
import type { ZodType } from "zod";
import type { RecordType } from "../../schemas/index.js";
import type { Clock, Random } from "../clock.js";
import type { Logger } from "../logger.js";
import type { Headers } from "../transport/transport.js";

/** One record as a processor sees it: decoded value, string key, event time. */
export interface Rec<V> {
  key: string | null;
  value: V;
  /** Event time in epoch milliseconds. */
  timestampMs: number;
  headers: Headers;
}

/** A key-value state store owned by the runtime, backed by a compacted changelog topic. */
export interface KeyValueStore<V> {
  get(key: string): V | undefined;
  put(key: string, value: V): void;
  delete(key: string): void;
  entries(): IterableIterator<[string, V]>;
  readonly size: number;
}

/** "stream" timers fire as event time (max record timestamp seen) passes; "wall" timers on the runtime clock. */
export type TimerClock = "stream" | "wall";

export interface ProcessorContext<Out> {
  /** Buffers a record for the named output; it is produced only after process() settles. */
  forward<O extends keyof Out & string>(to: O, rec: Rec<Out[O]>): void;
  /** Calls `tick` every `everyMs`; returns a cancel function. */
  schedule(everyMs: number, clock: TimerClock, tick: (nowMs: number) => void | Promise<void>): () => void;
  /** A store declared in the spec's `stores`. Values must be JSON-serialisable. */
  store<V>(name: string): KeyValueStore<V>;
  /** The latest value per key of a table declared in the spec's `tables` (a compacted topic, read-only). */
  table<V>(name: string): ReadonlyMap<string, V>;
  /** Aborted on shutdown or when the partition is revoked. */
  readonly signal: AbortSignal;
  /** Bound to processor, topic and partition. */
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: Random;
  /** Shared across partitions: create metrics with `metricFor` (streams/metrics). */
  readonly metrics: Registry;
  readonly processorName: string;
  readonly topic: string;
  readonly partition: number;
  /** Largest record timestamp this task has seen (event time), -Infinity before the first record. */
  readonly streamTimeMs: number;
}

export interface Processor<In, Out> {
  init?(ctx: ProcessorContext<Out>): void | Promise<void>;
  process(rec: Rec<In>, ctx: ProcessorContext<Out>): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** Output name → record value type. */
export type OutputTypes = Record<string, unknown>;

/**
 * What a processor is: its name (also folder, log label, metric label and consumer-group suffix),
 * its Avro input and outputs, its stores and tables, a zod schema for its options, and a factory
 * called once per assigned partition.
 */
export interface ProcessorSpec<In, Out extends OutputTypes, Opts> {
  name: string;
  input: RecordType<In>;
  outputs: { [O in keyof Out]: RecordType<Out[O]> };
  stores?: readonly string[];
  tables?: { readonly [name: string]: RecordType<unknown> };
  options: ZodType<Opts>;
  create(opts: Opts): Processor<In, Out>;
}

// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous list of specs needs existential types
export type AnyProcessorSpec = ProcessorSpec<any, any, any>;
