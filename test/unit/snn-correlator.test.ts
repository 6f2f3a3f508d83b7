import { afterEach, describe, expect, it } from "vitest";
import { type RequestContext, type RouterOutputs, routerSpec } from "../../processors/router/index.js";
import {
  type HeldSpike,
  SpikeCorrelator,
  type SpikeCorrelatorOptions,
  type SpikeCorrelatorOutputs,
  spikeCorrelatorSpec,
} from "../../processors/spike-correlator/index.js";
import type { SpikeRecord, SpikeType } from "../../schemas/index.js";
import { type PipeInput, ProcessorTestDriver } from "../../streams/index.js";

const T0 = Date.UTC(2026, 0, 1);

function held(source: string, timestamp: number, intensity = 1.5, metric = "net.in_bytes"): HeldSpike {
  return { source, metric, timestamp, intensity };
}

function spike(
  source: string,
  ts: number,
  intensity = 1.5,
  type: SpikeType = "SENSOR_EVENT",
  metric = "net.in_bytes",
): PipeInput<SpikeRecord> {
  return {
    key: source,
    timestampMs: ts,
    value: {
      timestamp: ts,
      source_rank: 0,
      target_rank: 0,
      type,
      payload: JSON.stringify({ metric, value: 1, z: 5 }),
      source,
      neuron: 0,
      intensity,
      traceId: "0".repeat(32),
    },
  };
}

const drivers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function correlatorDriver(options: Partial<SpikeCorrelatorOptions> = {}) {
  const d = new ProcessorTestDriver<SpikeRecord, SpikeCorrelatorOutputs, SpikeCorrelatorOptions>(
    spikeCorrelatorSpec,
    { windowMs: 30_000, minSources: 2, cooldownMs: 300_000, ...options },
    { topic: "spikes" },
  );
  drivers.push(d);
  return d;
}

describe("SpikeCorrelator", () => {
  const config = { windowMs: 30_000, minSources: 3, cooldownMs: 300_000, maxSpikes: 100 };

  it("correlates distinct sources within the window, not repeats of one source", () => {
    const c = new SpikeCorrelator(config);
    expect(c.add(held("a", T0))).toBeUndefined();
    expect(c.add(held("a", T0 + 1_000))).toBeUndefined();
    expect(c.add(held("b", T0 + 10_000))).toBeUndefined();
    const got = c.add(held("c", T0 + 29_000, 3, "cpu.util"));
    expect(got).toEqual({
      timestamp: T0 + 29_000,
      startMs: T0,
      sources: ["a", "b", "c"],
      metrics: ["cpu.util", "net.in_bytes"],
      lead: "c",
      leadMetric: "cpu.util",
      maxIntensity: 3,
      totalIntensity: 7.5,
      spikes: 4,
    });
  });

  it("forgets spikes older than the window", () => {
    const c = new SpikeCorrelator(config);
    c.add(held("a", T0));
    c.add(held("b", T0 + 20_000));
    expect(c.add(held("c", T0 + 30_001))).toBeUndefined();
    expect(c.snapshot().spikes.map((s) => s.source)).toEqual(["b", "c"]);
  });

  it("emits once per episode, again when a new source joins or after the cooldown", () => {
    const c = new SpikeCorrelator({ ...config, minSources: 2 });
    c.add(held("a", T0));
    expect(c.add(held("b", T0 + 1_000))?.sources).toEqual(["a", "b"]);
    expect(c.add(held("a", T0 + 2_000))).toBeUndefined();
    expect(c.add(held("c", T0 + 3_000))?.sources).toEqual(["a", "b", "c"]);
    expect(c.add(held("b", T0 + 4_000))).toBeUndefined();
    c.add(held("a", T0 + 400_000));
    expect(c.add(held("b", T0 + 401_000))?.sources).toEqual(["a", "b"]);
  });

  it("takes a slightly out-of-order spike and drops one older than the window", () => {
    const c = new SpikeCorrelator({ ...config, minSources: 2 });
    c.add(held("a", T0 + 40_000));
    expect(c.add(held("b", T0 + 5_000))).toBeUndefined();
    expect(c.lastWasLate).toBe(true);
    expect(c.add(held("b", T0 + 35_000))?.startMs).toBe(T0 + 35_000);
    expect(c.lastWasLate).toBe(false);
  });

  it("resumes from a JSON snapshot", () => {
    const inputs = ["a", "b", "a", "c", "d", "a", "b"].map((s, i) => held(s, T0 + i * 7_000));
    const whole = new SpikeCorrelator(config);
    const expected = inputs.map((s) => whole.add(s));
    const first = new SpikeCorrelator(config);
    const before = inputs.slice(0, 3).map((s) => first.add(s));
    const resumed = new SpikeCorrelator(config);
    resumed.restore(JSON.parse(JSON.stringify(first.snapshot())));
    expect([...before, ...inputs.slice(3).map((s) => resumed.add(s))]).toEqual(expected);
  });
});

describe("spike-correlator processor", () => {
  it("emits a REASONING_TRIGGER spike keyed by the lead source", async () => {
    const d = correlatorDriver();
    await d.pipeAll([
      spike("host-4", T0, 1.2),
      spike("host-5", T0 + 5_000, 2.5),
      spike("host-6", T0 + 9_000),
    ]);
    const out = d.read("correlated");
    expect(out).toHaveLength(2);
    const [first, second] = out;
    expect(first?.key).toBe("host-5");
    expect(first?.value).toMatchObject({
      type: "REASONING_TRIGGER",
      source: "host-5",
      neuron: -1,
      intensity: 2.5,
      timestamp: T0 + 5_000,
      target_rank: 0,
    });
    expect(JSON.parse(first!.value.payload)).toEqual({
      kind: "correlated",
      metric: "net.in_bytes",
      sources: ["host-4", "host-5"],
      metrics: ["net.in_bytes"],
      startMs: T0,
      spikes: 2,
      totalIntensity: 3.7,
    });
    expect(JSON.parse(second!.value.payload).sources).toEqual(["host-4", "host-5", "host-6"]);
  });

  it("ignores spikes other than sensor events, so its output can go back to the spikes topic", async () => {
    const d = correlatorDriver();
    await d.pipeAll([spike("a", T0), spike("b", T0 + 1_000, 2, "REASONING_TRIGGER"), spike("c", T0 + 2_000)]);
    const [only, ...rest] = d.read("correlated");
    expect(rest).toEqual([]);
    await d.pipe({ ...only!, value: only!.value });
    expect(d.read("correlated")).toEqual([]);
  });

  it("dead-letters a spike without a source and resumes its window after a restart", async () => {
    const d = correlatorDriver();
    await d.pipe(spike("", T0));
    expect(d.dlq.map((l) => l.code)).toEqual(["RECORD_INVALID"]);
    await d.pipe(spike("a", T0 + 1_000));
    await d.restart();
    await d.pipe(spike("b", T0 + 2_000));
    expect(d.read("correlated").map((r) => JSON.parse(r.value.payload).sources)).toEqual([["a", "b"]]);
  });

  it("makes the router treat the lead source's window as a correlated case", async () => {
    const c = correlatorDriver();
    await c.pipeAll([spike("host-4", T0), spike("host-6", T0 + 200, 3)]);
    const [correlated] = c.read("correlated");
    // The router instance of host-6's partition sees only host-6's sensor spike and the correlated one.
    const router = new ProcessorTestDriver<SpikeRecord, RouterOutputs, unknown>(
      routerSpec,
      { windowMs: 1_000, idleFlushMs: 0 },
      { seed: 7 },
    );
    drivers.push(router);
    await router.pipeAll([spike("host-6", T0 + 200, 3), { ...correlated!, value: correlated!.value }]);
    await router.pipe(spike("clock", T0 + 5_000, 1, "CONTROL_FEEDBACK"));
    const requests = [...router.read("phi2"), ...router.read("deepseek")].map((r) => r.value);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.route).toMatch(/^correlated->/);
    const context = JSON.parse(requests[0]!.context) as RequestContext;
    expect(context.kind).toBe("correlated");
    expect(context.sources).toEqual(["host-4", "host-6"]);
  });
});
