import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { commandRegistry, MetricsServer } from "../../cli/metrics-server.js";
import { EmbeddedTransport } from "../../streams/embedded/index.js";
import { counter, disabledMetrics, histogram } from "../../streams/index.js";
import { silentLogger } from "../../streams/logger.js";
import { LagMonitor } from "../../streams/topology/lag-monitor.js";
import { DEAD_LETTER_CODES, initNodeSeries, runnerMetrics } from "../../streams/topology/runner-metrics.js";
import { lagScenario } from "../helpers/lag-scenario.js";
import { tempDir } from "./helpers/temp-dir.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function lagOf(registry: Registry): Promise<Record<string, number>> {
  const json = await registry.getSingleMetric("spikemesh_consumer_lag_records")!.get();
  return Object.fromEntries(
    json.values.map((v) => [`${v.labels.group} ${v.labels.topic}/${v.labels.partition}`, v.value]),
  );
}

describe("consumer lag", () => {
  it("is the end offset minus the committed offset per group and partition (from the first offset before any commit)", async () => {
    const t = await tempDir("spikemesh-lag-");
    const transport = new EmbeddedTransport({ dataDir: t.dir, logger: silentLogger() });
    cleanups.push(t.remove, () => transport.close());
    await lagScenario(transport, "embedded");
  });

  it("keeps the last figures when the admin fails", async () => {
    const registry = new Registry();
    const metrics = runnerMetrics(registry);
    metrics.lag.set({ group: "g", topic: "t", partition: "0" }, 4);
    const failing = {
      describeTopics: () => Promise.reject(new Error("broker down")),
    } as unknown as ConstructorParameters<typeof LagMonitor>[0]["admin"];
    const monitor = new LagMonitor({
      admin: failing,
      groups: [{ group: "g", topic: "t" }],
      metrics,
      log: silentLogger(),
    });
    await monitor.sample();
    expect(await lagOf(registry)).toEqual({ "g t/0": 4 });
  });
});

describe("zero-started runner series", () => {
  it("gives every bounded label set a series before the first record", async () => {
    const registry = new Registry();
    initNodeSeries(runnerMetrics(registry), "router", "spikes", ["escalations.rules", "escalations.phi2"]);
    const text = await registry.metrics();
    expect(text).toContain('spikemesh_records_in_total{processor="router",topic="spikes"} 0');
    expect(text).toContain('spikemesh_records_out_total{processor="router",topic="escalations.phi2"} 0');
    for (const code of DEAD_LETTER_CODES)
      expect(text).toContain(
        `spikemesh_dlq_records_total{processor="router",topic="spikes",code="${code}"} 0`,
      );
  });
});

describe("metrics server", () => {
  it("serves the registry and the default process metrics on /metrics, 404 elsewhere", async () => {
    const registry = commandRegistry();
    runnerMetrics(registry).recordsIn.inc({ processor: "p", topic: "t" }, 3);
    const server = await MetricsServer.start({ registry, port: 0, host: "127.0.0.1", log: silentLogger() });
    cleanups.push(() => server.close());
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const body = await res.text();
    expect(body).toContain('spikemesh_records_in_total{processor="p",topic="t"} 3');
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_p99_seconds",
      "nodejs_heap_size_used_bytes",
    ])
      expect(body).toMatch(new RegExp(`^${name} `, "m"));
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });
});

describe("waiting for a scrape", () => {
  it("nextScrape resolves true once /metrics was answered, false when nobody scrapes in time", async () => {
    const server = await MetricsServer.start({
      registry: commandRegistry(),
      port: 0,
      host: "127.0.0.1",
      log: silentLogger(),
    });
    cleanups.push(() => server.close());
    expect(await server.nextScrape(50)).toBe(false);
    const waiting = server.nextScrape(30_000);
    // Another path is not a scrape.
    expect((await fetch(`${server.url}/nothing`)).status).toBe(404);
    const scrape = await fetch(`${server.url}/metrics`);
    expect(scrape.status).toBe(200);
    await scrape.text();
    expect(await waiting).toBe(true);
  });
});

describe("disabled metrics", () => {
  it("hands out metrics that do nothing and register nothing", async () => {
    const registry = disabledMetrics();
    const c = counter(registry, { name: "spikemesh_x_total", help: "x", labelNames: ["tier"] });
    c.inc({ tier: "a" }, 2);
    c.labels({ tier: "b" }).inc();
    histogram(registry, { name: "spikemesh_y_seconds", help: "y", buckets: [1] }).observe(0.5);
    const m = runnerMetrics(registry);
    initNodeSeries(m, "p", "in", ["out"]);
    m.lag.set({ group: "g", topic: "t", partition: "0" }, 1);
    expect(registry.getMetricsAsArray()).toEqual([]);
  });
});
