/**
 * The SNN filter, side by side with plain baselines:
 *   - snn kernel: TelemetryNetwork.observe (clock, four encoders, synapses, a four-neuron LIF
 *     population per key) against a plain rolling z-score loop (a 60-sample ring buffer per key with
 *     running sums, flagging |z| > 3), over the same seeded telemetry and the same key lookup, one core.
 *   - snn kernel, NAB options: the same, with the options `spikemesh nab` scores (weekly seasonal
 *     baseline, shunting inhibition, key-wide refractory period, cadence clock), CPU time.
 *   - snn pipeline: the snn-filter processor under the TopologyRunner on the embedded runtime
 *     (embedded log + embedded registry, RegistryCodec): decode → filter → encode spikes, checkpoint,
 *     commit; against a raw consume → produce passthrough of the same bytes on the same log.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../cli/config.js";
import { NAB_FILTER_OPTIONS } from "../cli/nab/detect.js";
import { openRuntime, type Runtime } from "../cli/runtime.js";
import {
  type SnnFilterOptions,
  snnFilterOptions,
  snnFilterSpec,
  TelemetryNetwork,
} from "../processors/snn-filter/index.js";
import { recordTypes, type TelemetryEvent } from "../schemas/index.js";
import { seededRandom } from "../streams/clock.js";
import { silentLogger } from "../streams/logger.js";
import { TopologyRunner } from "../streams/topology/runner.js";
import { groupId, type Topology } from "../streams/topology/topology.js";
import type { OutgoingRecord, Transport } from "../streams/transport/transport.js";
import { type Suite, type TrialResult, timed } from "./measure.js";

export interface SnnBenchOptions {
  tmpRoot: string;
  /** Events per kernel trial. */
  kernelEvents: number;
  /** Distinct source/metric keys. */
  keys: number;
  /** Records per pipeline trial. */
  pipelineRecords: number;
}

const STEP_MS = 10_000;
const T0 = Date.UTC(2026, 0, 1);
const DAY_MS = 86_400_000;
/** The baseline's rolling window and flag level. */
const WINDOW = 60;
const Z_FLAG = 3;

/** Seeded telemetry, key-major per time step: a daily cycle, noise, and a rare outlier. */
interface Workload {
  keys: string[];
  keyIndex: Int32Array;
  ts: Float64Array;
  values: Float64Array;
}

function workload(events: number, keys: number, stepMs = STEP_MS): Workload {
  const random = seededRandom(11);
  const names = Array.from({ length: keys }, (_, k) => `host-${k % 1000}/metric-${Math.floor(k / 1000)}`);
  const keyIndex = new Int32Array(events);
  const ts = new Float64Array(events);
  const values = new Float64Array(events);
  for (let i = 0; i < events; i++) {
    const k = i % keys;
    const t = T0 + Math.floor(i / keys) * stepMs;
    const noise = Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
    const outlier = random.next() < 0.0005 ? 25 : 0;
    keyIndex[i] = k;
    ts[i] = t;
    values[i] = 50 + 15 * Math.sin((2 * Math.PI * (t % DAY_MS)) / DAY_MS) + 2 * noise + outlier;
  }
  return { keys: names, keyIndex, ts, values };
}

/**
 * Both kernel cases of one trial: wall-clock seconds, and the process's CPU seconds over the same span
 * (user + system, GC threads included), which is the per-core figure when other work shares the CPUs.
 */
function kernelSamples(events: number, t0: number, cpu0: NodeJS.CpuUsage): TrialResult {
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    "snn kernel": { records: events, bytes: events * 8, seconds },
    "snn kernel (CPU time)": { records: events, bytes: events * 8, seconds: cpuSeconds },
  };
}

/** The SNN kernel over the workload: key lookup + observe per event. */
function kernelTrial(w: Workload, options: Partial<SnnFilterOptions> = {}): TrialResult {
  const network = new TelemetryNetwork(snnFilterOptions.parse(options));
  let spikes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < w.values.length; i++) {
    if (network.observe(w.keys[w.keyIndex[i]!]!, w.ts[i]!, w.values[i]!) >= 0) spikes++;
  }
  const result = kernelSamples(w.values.length, t0, cpu0);
  if (spikes === 0) throw new Error("snn kernel: no spike at all; the workload is wrong");
  return result;
}

/** The NAB-options case: the CPU-time sample of a trial, under its own name. */
const NAB_KERNEL_CASE = "snn kernel, NAB options (CPU time)";
function nabCase(result: TrialResult): TrialResult {
  return { [NAB_KERNEL_CASE]: result["snn kernel (CPU time)"]! };
}

/** A plain rolling z-score per key: ring buffer of WINDOW values with running sum and sum of squares. */
function rollingZTrial(w: Workload): TrialResult {
  const slots = new Map<string, number>();
  const ring = new Float64Array(w.keys.length * WINDOW);
  const sum = new Float64Array(w.keys.length);
  const sumSq = new Float64Array(w.keys.length);
  const count = new Int32Array(w.keys.length);
  const head = new Int32Array(w.keys.length);
  let flags = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < w.values.length; i++) {
    const key = w.keys[w.keyIndex[i]!]!;
    let s = slots.get(key);
    if (s === undefined) {
      s = slots.size;
      slots.set(key, s);
    }
    const x = w.values[i]!;
    const n = count[s]!;
    if (n >= WINDOW) {
      const mean = sum[s]! / n;
      const sd = Math.sqrt(Math.max(0, sumSq[s]! / n - mean * mean));
      if (sd > 0 && Math.abs((x - mean) / sd) > Z_FLAG) flags++;
      const old = ring[s * WINDOW + head[s]!]!;
      sum[s] = sum[s]! - old;
      sumSq[s] = sumSq[s]! - old * old;
    } else {
      count[s] = n + 1;
    }
    ring[s * WINDOW + head[s]!] = x;
    head[s] = (head[s]! + 1) % WINDOW;
    sum[s] = sum[s]! + x;
    sumSq[s] = sumSq[s]! + x * x;
  }
  const result = kernelSamples(w.values.length, t0, cpu0);
  if (flags === 0) throw new Error("rolling z-score: no flag at all; the workload is wrong");
  return result;
}

export function snnKernelSuite(options: SnnBenchOptions): Suite {
  const w = workload(options.kernelEvents, options.keys);
  return {
    cases: ["snn kernel", "snn kernel (CPU time)"],
    spikemesh: { label: "TelemetryNetwork.observe (default options)", trial: async () => kernelTrial(w) },
    baseline: {
      label: `rolling z-score loop (${WINDOW}-sample window per key)`,
      trial: async () => rollingZTrial(w),
    },
  };
}

interface PipelineEnv {
  runtime: Runtime;
  dataDir: string;
  /** Encoded TelemetryEvents (Confluent wire format) for the input topic. */
  encoded: OutgoingRecord[];
  trial: number;
}

async function pipelineEnv(options: SnnBenchOptions): Promise<PipelineEnv> {
  const dataDir = mkdtempSync(join(options.tmpRoot, "snn-pipeline-"));
  const config = loadConfig({ file: undefined, env: {}, flags: { dataDir, logLevel: "silent" } });
  const runtime = await openRuntime(config, silentLogger(), { dataDir });
  const w = workload(options.pipelineRecords, Math.min(options.keys, 1_000));
  const encoded: OutgoingRecord[] = [];
  for (let i = 0; i < w.values.length; i++) {
    const [source, metric] = w.keys[w.keyIndex[i]!]!.split("/") as [string, string];
    const event: TelemetryEvent = { ts: w.ts[i]!, source, metric, value: w.values[i]!, tags: {} };
    const value = await runtime.codec.encode("telemetry.raw", recordTypes.TelemetryEvent, event);
    encoded.push({ topic: "", key: Buffer.from(source), value, timestampMs: event.ts });
  }
  return { runtime, dataDir, encoded, trial: 0 };
}

/** Writes the encoded records to a fresh 1-partition topic (not timed). */
async function fillTopic(transport: Transport, topic: string, records: OutgoingRecord[]): Promise<void> {
  await transport.admin().createTopics([{ name: topic, partitions: 1 }]);
  const producer = transport.producer();
  for (let i = 0; i < records.length; i += 500) {
    await producer.send(records.slice(i, i + 500).map((r) => ({ ...r, topic })));
  }
}

async function committed(transport: Transport, group: string, topic: string): Promise<number> {
  const offsets = await transport.admin().fetchCommittedOffsets(group, topic);
  return offsets.reduce((sum, o) => sum + o.offset, 0);
}

async function pipelineTrial(env: PipelineEnv): Promise<TrialResult> {
  const { transport, codec } = env.runtime;
  const n = ++env.trial;
  const input = `bench.telemetry.${n}`;
  await fillTopic(transport, input, env.encoded);
  const topology: Topology = {
    appId: `bench-snn-${n}`,
    defaultPartitions: 1,
    nodes: [{ spec: snnFilterSpec, input, outputs: { spikes: `bench.spikes.${n}` } }],
  };
  const runner = new TopologyRunner(topology, {
    // The bench owns the transport; the runner only stops its own clients.
    transport: {
      kind: transport.kind,
      admin: () => transport.admin(),
      producer: (o) => transport.producer(o),
      consumer: (o) => transport.consumer(o),
      close: async () => undefined,
    },
    codec,
    logger: silentLogger(),
    maxBatchRecords: 500,
    lagIntervalMs: 0,
  });
  const group = groupId(topology.appId, topology.nodes[0]!);
  const seconds = await timed(async () => {
    await runner.start();
    while ((await committed(transport, group, input)) < env.encoded.length) {
      await new Promise((r) => setTimeout(r, 2));
    }
  });
  await runner.stop();
  return { "snn pipeline": { records: env.encoded.length, bytes: bytesOf(env.encoded), seconds } };
}

/** Raw passthrough: poll the input's bytes, send them unchanged to an output topic, commit. */
async function passthroughTrial(env: PipelineEnv): Promise<TrialResult> {
  const { transport } = env.runtime;
  const n = ++env.trial;
  const input = `bench.telemetry.${n}`;
  const output = `bench.copy.${n}`;
  await fillTopic(transport, input, env.encoded);
  await transport.admin().createTopics([{ name: output, partitions: 1 }]);
  const seconds = await timed(async () => {
    const consumer = transport.consumer({ groupId: `bench-copy-${n}` });
    const producer = transport.producer();
    await consumer.subscribe([input]);
    let copied = 0;
    while (copied < env.encoded.length) {
      const records = await consumer.poll({ maxRecords: 500, maxWaitMs: 1000 });
      if (records.length === 0) throw new Error(`passthrough stalled at ${copied}`);
      await producer.send(
        records.map((r) => ({ topic: output, key: r.key, value: r.value, timestampMs: r.timestampMs })),
      );
      const last = records[records.length - 1]!;
      await consumer.commit([{ topic: input, partition: last.partition, offset: last.offset + 1 }]);
      copied += records.length;
    }
    await consumer.close();
  });
  return { "snn pipeline": { records: env.encoded.length, bytes: bytesOf(env.encoded), seconds } };
}

function bytesOf(records: readonly OutgoingRecord[]): number {
  return records.reduce((n, r) => n + (r.key?.length ?? 0) + (r.value?.length ?? 0), 0);
}

export async function snnPipelineSuite(options: SnnBenchOptions): Promise<Suite> {
  const env = await pipelineEnv(options);
  return {
    cases: ["snn pipeline"],
    spikemesh: {
      label: "snn-filter under TopologyRunner, embedded runtime (decode → filter → encode, commit)",
      trial: () => pipelineTrial(env),
    },
    baseline: {
      label: "raw consume → produce passthrough on the embedded log",
      trial: () => passthroughTrial(env),
    },
    close: async () => {
      await env.runtime.close();
      rmSync(env.dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The kernel with the options `spikemesh nab` scores, against the same rolling z-score loop. Samples
 * 10 minutes apart, so that with 2,000 samples per key both seasonal baselines (daily, weekly) are warm
 * for the second half of the run and their scoring is part of the cost.
 */
export function snnKernelNabSuite(options: SnnBenchOptions): Suite {
  const w = workload(options.kernelEvents, options.keys, 600_000);
  return {
    cases: [NAB_KERNEL_CASE],
    spikemesh: {
      label: "TelemetryNetwork.observe (NAB_FILTER_OPTIONS: weekly baseline, shunting, key refractory)",
      trial: async () => nabCase(kernelTrial(w, NAB_FILTER_OPTIONS)),
    },
    baseline: {
      label: `rolling z-score loop (${WINDOW}-sample window per key)`,
      trial: async () => nabCase(rollingZTrial(w)),
    },
  };
}

export async function snnSuites(options: SnnBenchOptions): Promise<Suite[]> {
  return [snnKernelSuite(options), snnKernelNabSuite(options), await snnPipelineSuite(options)];
}
