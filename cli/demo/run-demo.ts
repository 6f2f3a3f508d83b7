import { Registry } from "prom-client";
import { recordTypes, type TelemetryEvent } from "../../schemas/index.js";
import {
  type Clock,
  type Logger,
  systemClock,
  type Topology,
  TopologyRunner,
  topologyTopics,
} from "../../streams/index.js";
import type { OutgoingRecord } from "../../streams/transport/transport.js";
import type { AgentOptions } from "../agent/agent-options.js";
import { type HostAgentTotals, runHostAgent } from "../agent/host-agent.js";
import { UsageError } from "../command-context.js";
import type { SpikemeshConfig } from "../config.js";
import { MESH_TOPICS, meshTopology } from "../mesh-topology.js";
import type { Runtime } from "../runtime.js";
import { DemoLogs } from "./demo-logs.js";
import { waitForDrain } from "./drain.js";
import { countRecords, type DemoSummary, summarize } from "./summary.js";
import { TelemetryGenerator } from "./telemetry-generator.js";

export interface DemoOptions {
  /** Simulated history replayed at full speed. Default 6 h. */
  durationMs: number;
  /** Sample spacing per series. Default 10 s. */
  stepMs: number;
  hosts: number;
  seed: number;
  /** After the history, keep producing live samples (one step per `stepMs` of wall time) until aborted. */
  keepRunning: boolean;
  /** Aborting ends the run (Ctrl-C): produced records are drained, then the summary is taken. */
  signal: AbortSignal;
  /** Called about every 250 ms with counts read from the topics. */
  onProgress?: (progress: DemoProgress) => void;
  /** Delete the topology's topics first when they already hold records (Kafka: a demo needs empty topics). */
  resetTopics?: boolean;
  clock?: Clock;
  /** Registry the runner and processors write their metrics to (served by `--metrics-port`). Default: a fresh one. */
  metrics?: Registry;
  /**
   * Also run the host agent on this machine: its samples (source = host name or `agent.source`) go
   * to telemetry.raw beside the generator's, through the same SNN filter. It samples from the start
   * until the producing ends, so pair it with `keepRunning`.
   */
  agent?: AgentOptions;
  /** Awaited once the mesh has started and before anything is produced (`--wait-for-scrape`). */
  beforeProducing?: () => Promise<void>;
}

export interface DemoProgress {
  phase: "replaying history" | "draining" | "live";
  produced: number;
  total: number;
  spikes: number;
  escalations: number;
  results: number;
  /** Samples the host agent took (only with `agent`). */
  agentSamples?: number;
}

export interface DemoRun {
  summary: DemoSummary;
  wallMs: number;
  /** What the host agent did (only with `agent`). */
  agent?: HostAgentTotals;
}

/**
 * The demo: a generator writes host telemetry with labelled incidents to `telemetry.raw` and the
 * hosts' log lines (disk errors during the disk I/O storm) to `logs.raw`, the mesh
 * topology runs on the given runtime, and the summary is read back from the topics once every node
 * has committed everything. The history is stamped to end now, so request deadlines (event time +
 * `deadlineMs`) mean the same thing in the replay as live; the router's deadline is stretched to
 * cover the replayed span, which is processed in seconds.
 */
export async function runDemo(
  runtime: Runtime,
  config: SpikemeshConfig,
  log: Logger,
  options: DemoOptions,
): Promise<DemoRun> {
  const clock = options.clock ?? systemClock;
  const started = clock.nowMs();
  const generator = new TelemetryGenerator({
    // Whole minutes, so the router's event-time windows fall the same way on every run.
    startMs: Math.floor((started - options.durationMs) / 60_000) * 60_000,
    durationMs: options.durationMs,
    stepMs: options.stepMs,
    hosts: options.hosts,
    seed: options.seed,
  });
  const logs = new DemoLogs(generator, options.hosts, options.seed);
  const topology = meshTopology({
    appId: config.appId,
    partitions: config.runner.partitions,
    options: {
      ...config.nodes,
      router: {
        windowMs: 60_000,
        idleFlushMs: 1_000,
        deadlineMs: options.durationMs + 10 * 60_000,
        ...config.nodes.router,
      },
    },
  });
  const runner = new TopologyRunner(topology, {
    transport: runtime.transport,
    codec: runtime.codec,
    logger: log,
    clock,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    seed: config.runner.seed,
    guarantee: config.runner.guarantee,
    maxBatchRecords: config.runner.maxBatchRecords,
    maxQueuedRecords: config.runner.maxQueuedRecords,
    maxRetries: config.runner.maxRetries,
  });
  await ensureEmptyTopics(runtime, topology, options.resetTopics ?? false);
  await runner.start();
  await options.beforeProducing?.();
  const crashed = runner.crashed;
  let produced = 0;
  let phase: DemoProgress["phase"] = "replaying history";
  // The agent stops when the producing does; a failing agent stops the demo (its error is rethrown).
  const stopAgent = new AbortController();
  const signal = AbortSignal.any([options.signal, stopAgent.signal]);
  let agentSamples = 0;
  let agentError: unknown;
  const agent = options.agent
    ? runHostAgent(
        options.agent,
        {
          transport: runtime.transport,
          codec: runtime.codec,
          log,
          metrics: options.metrics ?? new Registry(),
          clock,
        },
        { signal: stopAgent.signal, partitions: config.runner.partitions, onSample: () => agentSamples++ },
      ).catch((err: unknown) => {
        agentError = err;
        stopAgent.abort();
        return undefined;
      })
    : undefined;
  const progress = startProgress(
    runtime,
    () => ({ phase, produced, total: generator.totalEvents, ...(agent ? { agentSamples } : {}) }),
    options,
  );
  let agentTotals: HostAgentTotals | undefined;
  try {
    const producer = runtime.transport.producer({ idempotent: true });
    try {
      const send = async (events: TelemetryEvent[]) => {
        const records: OutgoingRecord[] = [];
        for (const e of events) {
          const value = await runtime.codec.encode(MESH_TOPICS.telemetry, recordTypes.TelemetryEvent, e);
          records.push({
            topic: MESH_TOPICS.telemetry,
            key: Buffer.from(e.source),
            value,
            timestampMs: e.ts,
          });
        }
        await Promise.race([producer.send(records), crashed]);
        produced += events.length;
      };
      // Log lines go out beside the telemetry of the same stretch of event time.
      const sendLogs = async (untilMs: number) => {
        const records = await logs.recordsBefore(untilMs, runtime.codec);
        if (records.length > 0) await Promise.race([producer.send(records), crashed]);
      };
      for (const batch of generator.batches(1_000)) {
        if (signal.aborted) break;
        await send(batch);
        await sendLogs((batch[batch.length - 1]?.ts ?? 0) + options.stepMs);
      }
      if (!signal.aborted) await sendLogs(Number.POSITIVE_INFINITY);
      if (options.keepRunning) {
        phase = "live";
        for (let t = generator.endMs; !signal.aborted; t += options.stepMs) {
          await abortableDelay(Math.max(0, t - clock.nowMs()), signal);
          if (!signal.aborted) await send(generator.samplesAt(t));
        }
      }
    } finally {
      stopAgent.abort();
      agentTotals = await agent;
      await producer.close();
    }
    phase = "draining";
    await Promise.race([waitForDrain(runtime.transport, topology), crashed]);
  } finally {
    progress.stop();
    await runner.stop();
  }
  log.debug("demo drained; reading the summary back from the topics");
  if (agentError !== undefined) throw agentError;
  const incidents = logs.incident ? [...generator.incidents, logs.incident] : generator.incidents;
  const summary = await summarize(runtime.transport, runtime.codec, incidents);
  return { summary, wallMs: clock.nowMs() - started, ...(agentTotals ? { agent: agentTotals } : {}) };
}

/**
 * The summary counts whole topics, so the demo needs them empty: on the embedded runtime it has a
 * fresh data directory; on Kafka, topics left by an earlier run are deleted only when asked to.
 */
async function ensureEmptyTopics(runtime: Runtime, topology: Topology, reset: boolean): Promise<void> {
  const admin = runtime.transport.admin();
  const existing = new Set(await admin.listTopics());
  const ours = topologyTopics(topology)
    .map((t) => t.name)
    .filter((name) => existing.has(name));
  if (ours.length === 0) return;
  if (reset) {
    await admin.deleteTopics(ours);
    return;
  }
  const withRecords: string[] = [];
  for (const name of ours) if ((await countRecords(runtime.transport, name)) > 0) withRecords.push(name);
  if (withRecords.length > 0) {
    throw new UsageError(
      `the demo's topics already hold records (${withRecords.join(", ")}); pass --reset to delete the demo's topics first`,
    );
  }
}

function startProgress(
  runtime: Runtime,
  state: () => Pick<DemoProgress, "phase" | "produced" | "total" | "agentSamples">,
  options: DemoOptions,
): { stop(): void } {
  const report = options.onProgress;
  if (!report) return { stop() {} };
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const t = MESH_TOPICS;
      const [spikes, rules, phi2, deepseek, results] = await Promise.all(
        [t.spikes, t.rules, t.phi2, t.deepseek, t.results].map((topic) =>
          countRecords(runtime.transport, topic),
        ),
      );
      report({ ...state(), spikes: spikes!, escalations: rules! + phi2! + deepseek!, results: results! });
    } catch {
      // Progress is best effort: the transport may be closing.
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 250);
  return {
    stop() {
      clearInterval(timer);
    },
  };
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
