import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AgentOptions, agentOptions, resolveAgentOptions } from "../../cli/agent/agent-options.js";
import { runHostAgent } from "../../cli/agent/host-agent.js";
import { HOST_METRICS } from "../../cli/agent/host-sampler.js";
import { loadConfig } from "../../cli/config.js";
import { openRuntime, type Runtime } from "../../cli/runtime.js";
import { type LogEvent, type RecordType, recordTypes, type TelemetryEvent } from "../../schemas/index.js";
import { ConfigError, readToEnd } from "../../streams/index.js";
import { silentLogger } from "../../streams/logger.js";
import { tempDir } from "./helpers/temp-dir.js";

const log = silentLogger();
const options = (over: Partial<AgentOptions> = {}): AgentOptions =>
  agentOptions.parse({ intervalMs: 100, source: "test-host", ...over });

async function readAll<T>(runtime: Runtime, topic: string, type: RecordType<T>): Promise<T[]> {
  const raw: Buffer[] = [];
  await readToEnd(runtime.transport, topic, "all", `agent-test-${topic}-${Math.random()}`, (r) => {
    if (r.value) raw.push(r.value);
  });
  return Promise.all(raw.map(async (b) => (await runtime.codec.decode(topic, type, b)) as T));
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = await registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x));
  return match?.value;
}

describe("host agent on the embedded runtime", { timeout: 60_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let runtime: Runtime;

  beforeEach(async () => {
    ({ dir, remove } = await tempDir("spikemesh-agent-"));
    runtime = await openRuntime(loadConfig({ env: {}, flags: { dataDir: join(dir, "data") } }), log);
  });
  afterEach(async () => {
    await runtime.close();
    await remove();
  });

  it("samples this machine's /proc into telemetry.raw and appended log lines into logs.raw", async () => {
    const logFile = join(dir, "app.log");
    writeFileSync(logFile, "from before the agent started\n");
    const registry = new Registry();
    const totals = await runHostAgent(
      options({ logs: [logFile], tags: { rack: "r7" } }),
      { transport: runtime.transport, codec: runtime.codec, log, metrics: registry },
      {
        signal: new AbortController().signal,
        maxSamples: 3,
        onSample: (s) => {
          if (s.seq === 0) appendFileSync(logFile, "ERROR disk quota exceeded\n");
        },
      },
    );
    expect(totals).toMatchObject({ samples: 3, logRecords: 1, errors: 0 });
    const telemetry = await readAll<TelemetryEvent>(runtime, "telemetry.raw", recordTypes.TelemetryEvent);
    expect(telemetry).toHaveLength(totals.telemetryRecords);
    const metrics = new Set(telemetry.map((e) => e.metric));
    // Every metric but swap (this VM has none) comes out once the second sample gives rates.
    for (const m of HOST_METRICS.filter((m) => m !== "mem.swap_used_ratio")) expect(metrics).toContain(m);
    expect(new Set(telemetry.map((e) => e.ts)).size).toBe(3);
    for (const e of telemetry) {
      expect(e.source).toBe("test-host");
      expect(e.tags).toEqual({ rack: "r7" });
    }
    const ratios = telemetry.filter((e) => e.metric.endsWith("_ratio")).map((e) => e.value);
    expect(ratios.every((v) => v >= 0 && v <= 1)).toBe(true);
    const logs = await readAll<LogEvent>(runtime, "logs.raw", recordTypes.LogEvent);
    expect(logs.map((l) => [l.source, l.level, l.message])).toEqual([
      ["test-host", "ERROR", "ERROR disk quota exceeded"],
    ]);
    expect(await metricValue(registry, "spikemesh_agent_samples_total")).toBe(3);
    expect(await metricValue(registry, "spikemesh_agent_records_total", { topic: "telemetry.raw" })).toBe(
      totals.telemetryRecords,
    );
    expect(await metricValue(registry, "spikemesh_agent_sample_errors_total", { part: "diskstats" })).toBe(0);
  });

  it("a /proc part that is missing or malformed is counted as an error; the other parts still flow", async () => {
    const proc = join(dir, "proc");
    mkdirSync(join(proc, "net"), { recursive: true });
    writeFileSync(join(proc, "stat"), "not the stat file\n");
    writeFileSync(join(proc, "meminfo"), readFileSync("/proc/meminfo", "utf8"));
    writeFileSync(join(proc, "loadavg"), "0.5 0.4 0.3 1/100 42\n");
    const registry = new Registry();
    const totals = await runHostAgent(
      options({ procRoot: proc }),
      { transport: runtime.transport, codec: runtime.codec, log, metrics: registry },
      { signal: new AbortController().signal, maxSamples: 2 },
    );
    // Per sample: stat malformed, diskstats and net/dev missing.
    expect(totals.errors).toBe(6);
    for (const part of ["stat", "diskstats", "netDev"]) {
      expect(await metricValue(registry, "spikemesh_agent_sample_errors_total", { part })).toBe(2);
    }
    const telemetry = await readAll<TelemetryEvent>(runtime, "telemetry.raw", recordTypes.TelemetryEvent);
    expect([...new Set(telemetry.map((e) => e.metric))].sort()).toEqual([
      "load.avg_1m",
      "mem.used_ratio",
      "procs.threads",
    ]);
  });

  it("a log file that cannot be followed is a configuration error naming it, before any sample", async () => {
    const missing = join(dir, "nope.log");
    await expect(
      runHostAgent(
        options({ logs: [missing] }),
        { transport: runtime.transport, codec: runtime.codec, log, metrics: new Registry() },
        { signal: new AbortController().signal, maxSamples: 1 },
      ),
    ).rejects.toThrow(`agent.logs[0]: cannot follow ${missing}: no such file`);
  });

  it("stops at the abort signal between samples", async () => {
    const stop = new AbortController();
    const totals = await runHostAgent(
      options(),
      { transport: runtime.transport, codec: runtime.codec, log, metrics: new Registry() },
      { signal: stop.signal, onSample: (s) => s.seq === 1 && stop.abort() },
    );
    expect(totals.samples).toBe(2);
  });
});

describe("agent options", () => {
  it("are validated with the field named", () => {
    const base = agentOptions.parse({});
    expect(base.intervalMs).toBe(1_000);
    expect(() => resolveAgentOptions(base, { intervalMs: 50 })).toThrow(ConfigError);
    expect(() => resolveAgentOptions(base, { intervalMs: 50 })).toThrow(/agent\.intervalMs: at least 100 ms/);
    expect(() => resolveAgentOptions(base, { source: "two words" })).toThrow(/agent\.source: no whitespace/);
    expect(resolveAgentOptions(base, { intervalMs: 250, source: undefined })).toMatchObject({
      intervalMs: 250,
    });
  });

  it("come from spikemesh.yaml's agent section and SPIKEMESH_AGENT__* like the rest of the config", () => {
    expect(loadConfig({ env: { SPIKEMESH_AGENT__INTERVAL_MS: "5000" } }).agent.intervalMs).toBe(5_000);
    expect(() => loadConfig({ env: { SPIKEMESH_AGENT__INTERVAL_MS: "5" } })).toThrow(/agent\.intervalMs/);
  });
});
