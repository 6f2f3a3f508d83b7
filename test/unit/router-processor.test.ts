import type { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  type RequestContext,
  type RouterOptions,
  type RouterOutputs,
  requestId,
  routerSpec,
} from "../../processors/router/index.js";
import type { ReasoningRequest, SpikeRecord, SpikeType } from "../../schemas/index.js";
import { type PipeInput, ProcessorTestDriver } from "../../streams/index.js";

type RouterDriver = ProcessorTestDriver<SpikeRecord, RouterOutputs, RouterOptions>;

const drivers: RouterDriver[] = [];

function driver(options: Record<string, unknown> = {}, seed = 7): RouterDriver {
  const d = new ProcessorTestDriver(routerSpec, { windowMs: 1_000, idleFlushMs: 0, ...options }, { seed });
  drivers.push(d);
  return d;
}

afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function spike(
  source: string,
  ts: number,
  metric = "cpu.util",
  intensity = 2,
  type: SpikeType = "SENSOR_EVENT",
): PipeInput<SpikeRecord> {
  return {
    key: source,
    timestampMs: ts,
    value: {
      timestamp: ts,
      source_rank: 0,
      target_rank: 1,
      type,
      payload: JSON.stringify({ metric, value: 97.5, z: 4.2 }),
      source,
      neuron: 0,
      intensity,
      traceId: "0".repeat(32),
    },
  };
}

/** A control-feedback spike: ignored by the router, but it moves event time (closing windows). */
const tick = (ts: number) => spike("clock", ts, "control", 1, "CONTROL_FEEDBACK");

const contextOf = (r: ReasoningRequest) => JSON.parse(r.context) as RequestContext;

function modelRequests(d: RouterDriver): ReasoningRequest[] {
  return [...d.read("phi2"), ...d.read("deepseek")].map((r) => r.value);
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

const CPU_ENTRY = {
  id: "cpu-hot",
  metric: "cpu.*",
  minSpikes: 2,
  minIntensity: 1.5,
  verdict: "ANOMALY",
  action: "notify",
};

describe("router: catalogue", () => {
  it("sends a window a catalogue entry matches to the rules tier", async () => {
    const d = driver({ catalogue: [CPU_ENTRY], deadlineMs: 5_000 });
    await d.pipeAll([spike("host-a", 100), spike("host-a", 400), tick(1_000)]);
    const rules = d.read("rules");
    expect(rules).toHaveLength(1);
    const req = rules[0]!;
    expect(req.key).toBe("host-a");
    expect(req.value).toMatchObject({
      tier: "rules",
      route: "catalogue->rules",
      source: "host-a",
      ts: 1_000,
      deadline: 6_000,
      depth: 0,
    });
    expect(req.value.id).toBe(requestId("host-a", 0, "rules"));
    expect(req.value.spikes.map((s) => s.timestamp)).toEqual([100, 400]);
    const context = contextOf(req.value);
    expect(context.catalogue[0]).toMatchObject({
      id: "cpu-hot",
      verdict: "ANOMALY",
      action: "notify",
      matchedSpikes: 2,
    });
    expect(context.summary).toMatchObject({ count: 2, maxIntensity: 2 });
    expect(context.summary.metrics["cpu.util"]).toMatchObject({ count: 2, lastValue: 97.5, maxAbsZ: 4.2 });
    expect(modelRequests(d)).toEqual([]);
  });

  it("drops windows a suppressing entry covers and counts them", async () => {
    const flap = { id: "flap", metric: "net.in_bytes", maxIntensity: 1.5, suppress: true };
    const d = driver({ catalogue: [flap, CPU_ENTRY] });
    await d.pipeAll([
      spike("host-a", 100, "net.in_bytes", 1.2),
      spike("host-a", 300, "net.in_bytes", 1.1),
      tick(1_000),
    ]);
    expect(d.read("rules")).toEqual([]);
    expect(modelRequests(d)).toEqual([]);
    expect(await metric(d.metrics, "spikemesh_router_windows_total", { outcome: "suppressed" })).toBe(1);
    // A strong spike in the same window is not covered by the suppression: it escalates.
    await d.pipeAll([
      spike("host-b", 1_100, "net.in_bytes", 1.2),
      spike("host-b", 1_200, "net.in_bytes", 5),
      tick(2_000),
    ]);
    expect(modelRequests(d)).toHaveLength(1);
  });

  it("loads the catalogue file named by cataloguePath", async () => {
    const d = driver({ cataloguePath: "topologies/catalogue.yaml" });
    await d.pipeAll([1, 2, 3].map((i) => spike("db-1", i * 100, "disk.write_bytes", 2.5)));
    await d.pipe(tick(1_000));
    const [req] = d.read("rules");
    expect(contextOf(req!.value).catalogue[0]?.id).toBe("disk-io-storm");
  });
});

describe("router: tier choice", () => {
  const open = { incidentCooldownMs: 0, rateLimitPerMinute: 1_000, rateLimitBurst: 100 };

  /** n one-spike windows from distinct sources, each closed by the next second's spike. */
  async function windows(d: RouterDriver, n: number, from = 0): Promise<ReasoningRequest[]> {
    for (let i = from; i < from + n; i++) await d.pipe(spike(`host-${i}`, i * 1_000 + 10));
    await d.pipe(tick((from + n) * 1_000));
    return modelRequests(d);
  }

  it("samples tiers with the softmax probabilities it reports", async () => {
    const d = driver(open, 11);
    const requests = await windows(d, 400);
    expect(requests).toHaveLength(400);
    const p = contextOf(requests[0]!).routing!.probabilities;
    expect(p.phi2! + p.deepseek!).toBeCloseTo(1, 3);
    // Defaults: weights 0.5 each, phi2 prior 0.2, temperature 0.2, epsilon 0.05.
    expect(p.phi2).toBeCloseTo(0.95 / (1 + Math.exp(-1)) + 0.025, 3);
    const phi2 = requests.filter((r) => r.tier === "phi2").length;
    // 5 standard deviations of a binomial(400, p): a seeded run, but the bound is the honest one.
    const sd = Math.sqrt(400 * p.phi2! * (1 - p.phi2!));
    expect(Math.abs(phi2 - 400 * p.phi2!)).toBeLessThan(5 * sd);
    for (const r of requests) expect(r.route).toBe(`single->${r.tier}`);
  });

  it("follows the weights table", async () => {
    const d = driver({ ...open, tierPrior: { phi2: 0, deepseek: 0 }, epsilon: 0.02 });
    d.setTableEntry("weights", "single->deepseek", {
      route: "single->deepseek",
      weight: 1,
      updates: 9,
      ts: 0,
    });
    d.setTableEntry("weights", "single->phi2", { route: "single->phi2", weight: 0, updates: 9, ts: 0 });
    const before = await windows(d, 100);
    expect(before.filter((r) => r.tier === "deepseek").length).toBeGreaterThan(90);
    d.setTableEntry("weights", "single->deepseek", {
      route: "single->deepseek",
      weight: 0,
      updates: 10,
      ts: 0,
    });
    d.setTableEntry("weights", "single->phi2", { route: "single->phi2", weight: 1, updates: 10, ts: 0 });
    const after = await windows(d, 100, 100);
    expect(after.filter((r) => r.tier === "phi2").length).toBeGreaterThan(90);
  });

  it("keeps exploring: the floor reaches a tier whose weight is far below", async () => {
    const d = driver({ ...open, epsilon: 0.2 });
    d.setTableEntry("weights", "single->deepseek", {
      route: "single->deepseek",
      weight: -100,
      updates: 1,
      ts: 0,
    });
    const requests = await windows(d, 300);
    const deepseek = requests.filter((r) => r.tier === "deepseek").length;
    // p(deepseek) = epsilon / 2 = 0.1; expected 30, sd ≈ 5.2.
    expect(deepseek).toBeGreaterThan(4);
    expect(deepseek).toBeLessThan(60);
  });

  it("makes one request for sources that spike together, biased toward deepseek", async () => {
    const d = driver({ ...open, correlationBias: 2 });
    for (let i = 0; i < 100; i++) {
      await d.pipe(spike(`a-${i}`, i * 1_000 + 10, "cpu.util", 2));
      await d.pipe(spike(`b-${i}`, i * 1_000 + 20, "mem.used", 3));
    }
    await d.pipe(tick(100_000));
    const requests = modelRequests(d);
    expect(requests).toHaveLength(100);
    const first = requests.find((r) => r.source === "b-0")!;
    expect(contextOf(first)).toMatchObject({ kind: "correlated", sources: ["a-0", "b-0"] });
    expect(first.spikes).toHaveLength(2);
    expect(first.route).toBe(`correlated->${first.tier}`);
    expect(requests.every((r) => r.source.startsWith("b-"))).toBe(true); // the more intense source leads
    // logits (0.5 + 0.2) vs (0.5 + 2) at temperature 0.2: deepseek ≈ 0.975.
    expect(requests.filter((r) => r.tier === "deepseek").length).toBeGreaterThan(85);
  });
});

describe("router: admission", () => {
  it("opens one request per incident and deduplicates until the cooldown passed", async () => {
    const d = driver({ incidentCooldownMs: 10_000 });
    await d.pipeAll([spike("host-a", 100), tick(1_000)]);
    expect(modelRequests(d)).toHaveLength(1);
    await d.pipeAll([spike("host-a", 1_500), spike("host-a", 5_500), tick(9_000)]);
    expect(modelRequests(d)).toEqual([]);
    expect(await metric(d.metrics, "spikemesh_router_windows_total", { outcome: "deduped" })).toBe(2);
    await d.pipeAll([spike("host-a", 11_100), tick(12_000)]);
    expect(modelRequests(d)).toHaveLength(1);
  });

  it("rate limits each source on event time", async () => {
    const d = driver({ incidentCooldownMs: 0, rateLimitPerMinute: 1, rateLimitBurst: 2 });
    for (let s = 0; s < 5; s++) await d.pipe(spike("host-a", s * 1_000 + 10));
    await d.pipe(tick(5_000));
    expect(modelRequests(d)).toHaveLength(2);
    expect(await metric(d.metrics, "spikemesh_router_windows_total", { outcome: "rate_limited" })).toBe(3);
    // Other sources have their own bucket.
    await d.pipeAll([spike("host-b", 5_100), tick(6_000)]);
    expect(modelRequests(d)).toHaveLength(1);
    // A minute of event time refills one token.
    await d.pipeAll([
      spike("host-a", 61_100),
      spike("host-a", 62_100),
      spike("host-a", 63_100),
      tick(64_000),
    ]);
    expect(modelRequests(d)).toHaveLength(1);
  });
});

describe("router: records and state", () => {
  const inputs = () => [
    spike("host-a", 100),
    spike("host-b", 1_200, "disk.write_bytes", 4),
    spike("host-c", 2_300, "mem.used", 1.3),
    spike("host-a", 3_400),
    tick(5_000),
  ];

  it("replays to the same requests (ids, tiers, context) with the same seed", async () => {
    const run = async () => {
      const d = driver({ incidentCooldownMs: 0 }, 99);
      await d.pipeAll(inputs());
      return modelRequests(d);
    };
    const [first, second] = [await run(), await run()];
    expect(first).toHaveLength(4);
    expect(second).toEqual(first);
    for (const r of first)
      expect(r.id).toBe(requestId(r.source, Math.floor(r.spikes[0]!.timestamp / 1_000) * 1_000, r.tier));
  });

  it("dead-letters a spike whose payload is not usable, naming the field", async () => {
    const d = driver();
    const bad = spike("host-a", 100);
    bad.value.payload = JSON.stringify({ value: 1 });
    await d.pipe(bad);
    expect(d.dlq).toHaveLength(1);
    expect(d.dlq[0]).toMatchObject({ code: "RECORD_INVALID" });
    expect(d.dlq[0]!.reason).toContain("payload.metric");
  });

  it("flushes windows after idleFlushMs of wall time without spikes", async () => {
    const d = driver({ idleFlushMs: 2_000 });
    await d.pipe(spike("host-a", 100));
    await d.advanceWallClock(1_000);
    expect(modelRequests(d)).toEqual([]);
    await d.advanceWallClock(1_000);
    const [req] = modelRequests(d);
    expect(req).toMatchObject({ source: "host-a", ts: 100 });
  });

  it("keeps open windows and incidents across a restart", async () => {
    const d = driver({ incidentCooldownMs: 10_000 });
    await d.pipe(spike("host-a", 100));
    await d.restart();
    await d.pipe(tick(1_000));
    expect(modelRequests(d)).toHaveLength(1);
    await d.restart();
    await d.pipeAll([spike("host-a", 1_500), tick(2_000)]);
    expect(modelRequests(d)).toEqual([]);
  });

  it("folds late spikes into the oldest open window", async () => {
    const d = driver();
    await d.pipeAll([spike("host-a", 5_100), spike("host-a", 900)]);
    expect(await metric(d.metrics, "spikemesh_router_spikes_total", { outcome: "late" })).toBe(1);
    await d.pipe(tick(6_000));
    const [req] = modelRequests(d);
    expect(req!.spikes.map((s) => s.timestamp)).toEqual([900, 5_100]);
    expect(contextOf(req!).window.startMs).toBe(5_000);
  });
});
