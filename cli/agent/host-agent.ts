import { performance } from "node:perf_hooks";
import type { Registry } from "prom-client";
import { type LogEvent, type RecordType, recordTypes, type TelemetryEvent } from "../../schemas/index.js";
import { type Clock, ConfigError, type Logger, systemClock } from "../../streams/index.js";
import type { RecordCodec } from "../../streams/topology/codec.js";
import type { OutgoingRecord, Transport } from "../../streams/transport/transport.js";
import { type AgentErrorPart, type AgentMetrics, agentMetrics } from "./agent-metrics.js";
import { type AgentOptions, agentSource } from "./agent-options.js";
import { HostSampler, readProcTexts } from "./host-sampler.js";
import { LogTailer } from "./log-tailer.js";

export interface HostAgentDeps {
  transport: Transport;
  codec: RecordCodec;
  log: Logger;
  metrics: Registry;
  clock?: Clock;
}

export interface HostAgentRun {
  signal: AbortSignal;
  /** Stop after this many samples (default: until aborted). */
  maxSamples?: number;
  /** Partitions of the topics when the agent creates them. Default 2. */
  partitions?: number;
  /** Called after each sample with what it produced. */
  onSample?: (sample: AgentSampleReport) => void;
}

export interface AgentSampleReport {
  seq: number;
  telemetry: TelemetryEvent[];
  logs: LogEvent[];
  problems: string[];
}

export interface HostAgentTotals {
  samples: number;
  telemetryRecords: number;
  logRecords: number;
  errors: number;
}

/**
 * The host agent: every `intervalMs` it reads /proc (CPU, memory, disk I/O, network, processes)
 * and the followed log files, and produces TelemetryEvents to `telemetryTopic` and LogEvents to
 * `logsTopic`, keyed by `source`. Ticks are aligned to the start time, so a slow sample delays one
 * tick rather than shifting every later one; ticks missed while the process was stalled are
 * skipped, not caught up. A part that fails (unreadable file, odd format, a send the transport
 * refuses) is logged once per kind, counted in `spikemesh_agent_sample_errors_total{part}`, and
 * the rest of the sample still goes out; records the transport refused are retried with the next
 * sample from a bounded backlog.
 */
export async function runHostAgent(
  options: AgentOptions,
  deps: HostAgentDeps,
  run: HostAgentRun,
): Promise<HostAgentTotals> {
  const clock = deps.clock ?? systemClock;
  const source = agentSource(options);
  const metrics = agentMetrics(deps.metrics);
  const log = deps.log.child({ component: "agent", source });
  const sampler = new HostSampler({ source, tags: options.tags, netExclude: options.netExclude });
  const tailers = await openTailers(options, source);
  const totals: HostAgentTotals = { samples: 0, telemetryRecords: 0, logRecords: 0, errors: 0 };
  const reported = new Set<string>();
  const problem = (part: AgentErrorPart, message: string) => {
    totals.errors++;
    metrics.errors.inc({ part });
    // Once per distinct problem at warn; repeats (every interval) at debug.
    const key = `${part}:${message}`;
    if (reported.has(key)) log.debug({ part }, message);
    else {
      reported.add(key);
      log.warn({ part }, `agent: ${message}`);
    }
  };
  const backlog: OutgoingRecord[] = [];
  const producer = deps.transport.producer({ idempotent: true });
  try {
    const topics = [options.telemetryTopic, ...(tailers.length > 0 ? [options.logsTopic] : [])];
    await deps.transport
      .admin()
      .createTopics(topics.map((name) => ({ name, partitions: run.partitions ?? 2 })));
    log.info(
      { intervalMs: options.intervalMs, topic: options.telemetryTopic, logs: tailers.length },
      "host agent sampling",
    );
    const startedMs = clock.nowMs();
    for (let seq = 0; !run.signal.aborted && (run.maxSamples === undefined || seq < run.maxSamples); seq++) {
      let due = startedMs + seq * options.intervalMs;
      const now = clock.nowMs();
      if (now > due + options.intervalMs) {
        // Stalled (suspended process, overloaded host): skip the missed ticks.
        seq = Math.floor((now - startedMs) / options.intervalMs);
        due = startedMs + seq * options.intervalMs;
      }
      await abortableDelay(due - now, run.signal);
      if (run.signal.aborted) break;
      const t0 = performance.now();
      const report = await sampleOnce(options, sampler, tailers, clock.nowMs(), metrics, problem);
      report.seq = seq;
      const encode = async (
        topic: string,
        type: RecordType<unknown>,
        value: { source: string; ts: number },
      ) => {
        try {
          const bytes = await deps.codec.encode(topic, type, value);
          backlog.push({ topic, key: Buffer.from(value.source), value: bytes, timestampMs: value.ts });
        } catch (err) {
          // Only a value the schema cannot hold (a log line over maxRecordBytes) gets here: counted and logged.
          problem("produce", `a record for ${topic} could not be encoded: ${(err as Error).message}`);
        }
      };
      for (const e of report.telemetry) await encode(options.telemetryTopic, recordTypes.TelemetryEvent, e);
      for (const e of report.logs) await encode(options.logsTopic, recordTypes.LogEvent, e);
      if (backlog.length > options.maxBacklogRecords) {
        const n = backlog.length - options.maxBacklogRecords;
        backlog.splice(0, n);
        metrics.dropped.inc(n);
        problem("produce", `backlog full (${options.maxBacklogRecords} records): dropped the ${n} oldest`);
      }
      try {
        await producer.send(backlog);
        for (const r of backlog) metrics.records.inc({ topic: r.topic });
        backlog.length = 0;
      } catch (err) {
        problem(
          "produce",
          `sending ${backlog.length} record(s) failed, retrying with the next sample: ${(err as Error).message}`,
        );
      }
      metrics.backlog.set(backlog.length);
      metrics.samples.inc();
      metrics.sampleSeconds.observe((performance.now() - t0) / 1000);
      totals.samples++;
      totals.telemetryRecords += report.telemetry.length;
      totals.logRecords += report.logs.length;
      run.onSample?.(report);
    }
    if (backlog.length > 0) {
      await producer.send(backlog).catch((err: unknown) => {
        problem("produce", `${backlog.length} record(s) not sent at stop: ${(err as Error).message}`);
      });
    }
    return totals;
  } finally {
    await producer.close();
    await Promise.all(tailers.map((t) => t.close()));
  }
}

async function sampleOnce(
  options: AgentOptions,
  sampler: HostSampler,
  tailers: readonly LogTailer[],
  nowMs: number,
  metrics: AgentMetrics,
  problem: (part: AgentErrorPart, message: string) => void,
): Promise<AgentSampleReport> {
  const { texts, problems: readProblems } = await readProcTexts(options.procRoot);
  const sample = sampler.sample(texts, nowMs);
  const problems = [...readProblems, ...sample.problems];
  for (const p of problems) problem(p.part, p.message);
  if (sample.counterResets > 0) metrics.counterResets.inc(sample.counterResets);
  const logs: LogEvent[] = [];
  for (const tailer of tailers) {
    try {
      const polled = await tailer.poll(nowMs);
      logs.push(...polled.events);
      if (polled.rotated) metrics.logFileEvents.inc({ kind: "rotated" });
      if (polled.truncated) metrics.logFileEvents.inc({ kind: "truncated" });
      if (polled.missing) metrics.logFileEvents.inc({ kind: "missing" });
    } catch (err) {
      problem("logs", `${tailer.path}: ${(err as Error).message}`);
    }
  }
  return {
    seq: 0,
    telemetry: sample.events,
    logs,
    problems: problems.map((p) => p.message),
  };
}

/** Opens every log file at start, so a wrong path is a clear error before anything runs. */
async function openTailers(options: AgentOptions, source: string): Promise<LogTailer[]> {
  const tailers: LogTailer[] = [];
  const problems: string[] = [];
  for (const [i, path] of options.logs.entries()) {
    const tailer = new LogTailer({
      path,
      source,
      fromStart: options.logsFromStart,
      maxLineBytes: options.maxLineBytes,
    });
    try {
      await tailer.start();
      tailers.push(tailer);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(
        `agent.logs[${i}]: cannot follow ${path}: ${code === "ENOENT" ? "no such file" : (code ?? (err as Error).message)}`,
      );
    }
  }
  if (problems.length > 0) {
    await Promise.all(tailers.map((t) => t.close()));
    throw new ConfigError(problems);
  }
  return tailers;
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
