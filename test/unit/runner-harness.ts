/**
 * Shared parts of the runner tests: a real EmbeddedTransport in a temp dir, the embedded schema
 * registry with the real RegistryCodec, small test-only processors built on the ProcessorSpec API,
 * and probes that wait on records arriving (never on sleeps).
 */
import { join } from "node:path";
import type { Registry } from "prom-client";
import { z } from "zod";
import { recordTypes, type TelemetryEvent } from "../../schemas/index.js";
import { EmbeddedTransport } from "../../streams/embedded/index.js";
import { type Logger, silentLogger } from "../../streams/logger.js";
import { RegistryCodec, RegistrySerde, SchemaRegistryServer } from "../../streams/serde/index.js";
import type { ProcessorContext, ProcessorSpec, Rec } from "../../streams/topology/processor.js";
import { TopologyRunner, type TopologyRunnerOptions } from "../../streams/topology/runner.js";
import { type Topology, topologyTopics } from "../../streams/topology/topology.js";
import type { IncomingRecord, OutgoingRecord, Transport } from "../../streams/transport/transport.js";
import { tempDir } from "./helpers/temp-dir.js";

/** Longest any probe waits for records before failing the test. */
export const WAIT_MS = 15_000;

export type EchoOutputs = { out: TelemetryEvent };

/** What an echo processor does with each record before forwarding it (wait, throw, count). */
export type EchoHook = (rec: Rec<TelemetryEvent>, ctx: ProcessorContext<EchoOutputs>) => void | Promise<void>;

/**
 * A test processor: forwards every TelemetryEvent unchanged to `out`, after `hook` (which may
 * block on a promise the test controls, or throw).
 */
export function echoSpec(
  hook: EchoHook = () => undefined,
): ProcessorSpec<TelemetryEvent, EchoOutputs, object> {
  return {
    name: "echo",
    input: recordTypes.TelemetryEvent,
    outputs: { out: recordTypes.TelemetryEvent },
    options: z.object({}),
    create: () => ({
      async process(rec, ctx) {
        await hook(rec, ctx);
        ctx.forward("out", { key: rec.key, value: rec.value, timestampMs: rec.timestampMs, headers: {} });
      },
    }),
  };
}

/** Sample number `seq` of `source`: `value` carries the sequence number through the pipeline. */
export function sample(seq: number, source = "host-a"): TelemetryEvent {
  return { ts: 1_700_000_000_000 + seq, source, metric: "cpu.util", value: seq, tags: {} };
}

/** A promise with its resolve function outside, for gating processors from the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Rejects after `ms` with a message naming what was awaited; the timer never keeps a run alive. */
export function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

let probeSeq = 0;

export interface RunnerHarness {
  dir: string;
  logDir: string;
  registryUrl: string;
  codec: RegistryCodec;
  transport: EmbeddedTransport;
  logger: Logger;
  /** A runner on this harness's transport and codec, with small batches by default. */
  runner(topology: Topology, options?: Partial<TopologyRunnerOptions>): TopologyRunner;
  /** Creates the topology's topics, so records can be produced before a runner starts. */
  createTopics(topology: Topology): Promise<void>;
  /** Encodes values with the registry codec and appends them (keys = `source`). */
  produce(topic: string, values: TelemetryEvent[], partition?: number): Promise<void>;
  /** Appends raw records, bytes as given. */
  produceRaw(records: OutgoingRecord[]): Promise<void>;
  /** Waits until `topic` holds at least `n` records, then returns every record in it. */
  waitForRecords(topic: string, n: number, ms?: number): Promise<IncomingRecord[]>;
  /** Every record of `topic`, in partition then offset order. */
  readAll(topic: string): Promise<IncomingRecord[]>;
  /** Decodes TelemetryEvents and returns their sequence numbers (`value`). */
  seqs(records: IncomingRecord[]): Promise<number[]>;
  /** Committed offsets of `group` on `topic`, by partition. */
  committed(group: string, topic: string): Promise<Map<number, number>>;
  /** Closes the transport and opens a fresh one on the same data dir (a process restart). */
  reopen(): Promise<void>;
  /** Runners, transport, registry, temp dir. */
  close(): Promise<void>;
}

export async function runnerHarness(): Promise<RunnerHarness> {
  const tmp = await tempDir("spikemesh-runner-");
  const logger = silentLogger();
  const registry = new SchemaRegistryServer({ dataDir: join(tmp.dir, "registry"), port: 0 });
  const registryUrl = await registry.start();
  const codec = new RegistryCodec(new RegistrySerde({ url: registryUrl }));
  const logDir = join(tmp.dir, "log");
  const runners: TopologyRunner[] = [];

  const readUntil = async (
    transport: Transport,
    topic: string,
    done: (records: IncomingRecord[]) => boolean,
    ms: number,
  ): Promise<IncomingRecord[]> => {
    const consumer = transport.consumer({ groupId: `probe-${++probeSeq}`, autoOffsetReset: "earliest" });
    const deadline = performance.now() + ms;
    const records: IncomingRecord[] = [];
    try {
      await consumer.subscribe([topic]);
      while (!done(records)) {
        const left = deadline - performance.now();
        if (left <= 0) {
          throw new Error(`timed out after ${ms} ms reading ${topic}: have ${records.length} records`);
        }
        records.push(...(await consumer.poll({ maxRecords: 1000, maxWaitMs: Math.min(left, 500) })));
      }
    } finally {
      await consumer.close();
    }
    return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  };

  const h: RunnerHarness = {
    dir: tmp.dir,
    logDir,
    registryUrl,
    codec,
    transport: new EmbeddedTransport({ dataDir: logDir, logger }),
    logger,
    runner(topology, options = {}) {
      const runner = new TopologyRunner(topology, {
        transport: h.transport,
        codec,
        logger,
        maxBatchRecords: 8,
        maxWaitMs: 50,
        retryBaseMs: 1,
        retryMaxMs: 4,
        // Wall ticks are queue items too; keep them out of queue-size arithmetic.
        wallTickMs: 60_000,
        ...options,
      });
      runners.push(runner);
      return runner;
    },
    createTopics(topology) {
      return h.transport.admin().createTopics(topologyTopics(topology));
    },
    async produce(topic, values, partition) {
      const records: OutgoingRecord[] = [];
      for (const value of values) {
        records.push({
          topic,
          key: Buffer.from(value.source),
          value: await codec.encode(topic, recordTypes.TelemetryEvent, value),
          timestampMs: value.ts,
          ...(partition === undefined ? {} : { partition }),
        });
      }
      await h.produceRaw(records);
    },
    async produceRaw(records) {
      const producer = h.transport.producer();
      await producer.send(records);
      await producer.close();
    },
    waitForRecords(topic, n, ms = WAIT_MS) {
      return readUntil(h.transport, topic, (records) => records.length >= n, ms);
    },
    async readAll(topic) {
      const [description] = await h.transport.admin().describeTopics([topic]);
      const ends = new Map(
        (description?.partitions ?? [])
          .filter((p) => p.highOffset > p.lowOffset)
          .map((p) => [p.partition, p.highOffset]),
      );
      return readUntil(
        h.transport,
        topic,
        (records) =>
          [...ends].every(([p, end]) => records.some((r) => r.partition === p && r.offset === end - 1)),
        WAIT_MS,
      );
    },
    async seqs(records) {
      const out: number[] = [];
      for (const rec of records) {
        const value = (await codec.decode(
          rec.topic,
          recordTypes.TelemetryEvent,
          rec.value!,
        )) as TelemetryEvent;
        out.push(value.value);
      }
      return out;
    },
    async committed(group, topic) {
      const offsets = await h.transport.admin().fetchCommittedOffsets(group, topic);
      return new Map(offsets.map((o) => [o.partition, o.offset]));
    },
    async reopen() {
      await h.transport.close();
      h.transport = new EmbeddedTransport({ dataDir: logDir, logger });
    },
    async close() {
      for (const runner of runners) await runner.stop().catch(() => undefined);
      await h.transport.close();
      await registry.close();
      await tmp.remove();
    },
  };
  return h;
}

/** Sum of committed offsets over partitions: records committed when every partition starts at 0. */
export function totalCommitted(offsets: Map<number, number>): number {
  let total = 0;
  for (const offset of offsets.values()) total += offset;
  return total;
}

/** Sum of a counter's or gauge's values over all label sets (0 when never set). */
export async function metricTotal(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}
