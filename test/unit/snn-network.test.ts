import type { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { TelemetryGenerator } from "../../cli/demo/telemetry-generator.js";
import {
  type KeyState,
  type SnnFilterOptions,
  type SnnFilterScoredOutputs,
  snnFilterOptions,
  snnFilterWithScoresSpec,
  TelemetryNetwork,
} from "../../processors/snn-filter/index.js";
import { keyStateSchema } from "../../processors/snn-filter/key-state.js";
import type { TelemetryEvent } from "../../schemas/index.js";
import { type PipeInput, ProcessorTestDriver } from "../../streams/index.js";

const T0 = Date.UTC(2026, 0, 1);
const STEP = 300_000;
const DAY = 86_400_000;

const network = (options: Partial<SnnFilterOptions> = {}) =>
  new TelemetryNetwork(snnFilterOptions.parse({ ...options }));

/** Options in samples of 5 minutes, as `spikemesh nab` uses them. */
const FIVE_MINUTE = {
  cadenceStepMs: STEP,
  statsTauMs: 288 * STEP,
  tauFastMs: STEP,
  tauSlowMs: 36 * STEP,
  refractoryMs: 12 * STEP,
  warmupSamples: 100,
};

/** Busy by day, quiet by night, with sharp edges and a little noise: every edge is a large change. */
function workday(i: number): number {
  const hour = ((T0 + i * STEP) % DAY) / 3_600_000;
  return (hour >= 8 && hour < 18 ? 80 : 20) + (((i * 7919) % 101) / 101 - 0.5) * 2;
}

/** Busy on weekday daytimes only: a daily baseline expects the weekday's day on a weekend too. */
function workweek(i: number): number {
  const t = T0 + i * STEP;
  const weekday = new Date(t).getUTCDay();
  return weekday === 0 || weekday === 6 ? 20 + (((i * 7919) % 101) / 101 - 0.5) * 2 : workday(i);
}

function demoEvents(durationMs = 2 * 3_600_000): TelemetryEvent[] {
  const out: TelemetryEvent[] = [];
  for (const batch of new TelemetryGenerator({ durationMs }).batches()) out.push(...batch);
  return out;
}

describe("TelemetryNetwork", () => {
  it("scores every event, ≥ 0.5 exactly when a neuron fires", () => {
    const n = network();
    let spikes = 0;
    for (const e of demoEvents(6 * 3_600_000)) {
      const neuron = n.observe(`${e.source}/${e.metric}`, e.ts, e.value);
      expect(n.anomalyScore).toBeGreaterThanOrEqual(0);
      expect(n.anomalyScore).toBeLessThan(1);
      expect(n.anomalyScore >= 0.5).toBe(neuron >= 0);
      if (neuron >= 0) {
        spikes++;
        expect(n.detection()?.intensity).toBeCloseTo(n.anomalyScore / (1 - n.anomalyScore), 9);
      } else {
        expect(n.detection()).toBeUndefined();
      }
    }
    expect(spikes).toBeGreaterThan(0);
  });

  it("learns a daily pattern: with the seasonal baseline its edges stop firing, an off-pattern value still does", () => {
    const count = (n: TelemetryNetwork) => {
      let spikes = 0;
      for (let i = 0; i < 10 * 288; i++)
        if (n.observe("k", T0 + i * STEP, workday(i)) >= 0 && i > 3 * 288) spikes++;
      return spikes;
    };
    const plain = network({ ...FIVE_MINUTE, seasonBins: 0 });
    const seasonal = network({ ...FIVE_MINUTE });
    const withoutSeason = count(plain);
    const withSeason = count(seasonal);
    expect(withoutSeason).toBeGreaterThan(5);
    expect(withSeason).toBe(0);
    // Daytime level at 3 am: normal for the value's range, wrong for the time of day.
    const night = T0 + 10 * DAY + 3 * 3_600_000;
    expect(seasonal.observe("k", night, 80)).toBeGreaterThanOrEqual(0);
    expect(seasonal.detection()?.basis).toBe("seasonal");
  });

  it("learns a weekly pattern: with the weekly baseline weekends stop firing, a weekday level on a Saturday still does", () => {
    const WEEK = 7 * 288;
    const run = (n: TelemetryNetwork) => {
      let late = 0;
      for (let i = 0; i < 6 * WEEK; i++)
        if (n.observe("k", T0 + i * STEP, workweek(i)) >= 0 && i > 2 * WEEK) late++;
      // On to Saturday 11:00 of the seventh week (T0 is a Thursday), where the value is a weekday's.
      const saturday = (44 * DAY + 11 * 3_600_000) / STEP;
      for (let i = 6 * WEEK; i < saturday; i++) n.observe("k", T0 + i * STEP, workweek(i));
      return { late, saturday: n.observe("k", T0 + saturday * STEP, 80), basis: n.detection()?.basis };
    };
    const daily = run(network({ ...FIVE_MINUTE }));
    const weekly = run(network({ ...FIVE_MINUTE, weekBins: 168 }));
    expect(daily.late).toBeGreaterThan(20);
    expect(daily.saturday).toBe(-1);
    expect(weekly.late).toBe(0);
    expect(weekly.saturday).toBeGreaterThanOrEqual(0);
    expect(weekly.basis).toBe("weekly");
  });

  it("resumes identically from a snapshot with the weekly baseline, and loads one written without it", () => {
    const options = { ...FIVE_MINUTE, weekBins: 168 };
    const n = 3 * 7 * 288;
    const whole = network(options);
    const expected = Array.from({ length: n }, (_, i) => whole.observe("k", T0 + i * STEP, workweek(i)));
    const first = network(options);
    const half = Math.floor(n / 2);
    const got = Array.from({ length: half }, (_, i) => first.observe("k", T0 + i * STEP, workweek(i)));
    const state = JSON.parse(JSON.stringify(first.snapshot("k"))) as KeyState;
    expect(state.weekly?.mean).toHaveLength(168);
    expect(keyStateSchema.parse(state)).toEqual(state);
    const resumed = network(options);
    resumed.restore("k", state);
    for (let i = half; i < n; i++) got.push(resumed.observe("k", T0 + i * STEP, workweek(i)));
    expect(got).toEqual(expected);
    expect(expected.filter((x) => x >= 0).length).toBeGreaterThan(0);
    // A snapshot from before the weekly baseline existed: it loads, and the weekly baseline starts afresh.
    const { weekly: _weekly, weeklyBasis: _basis, ...older } = state;
    expect(keyStateSchema.safeParse(older).success).toBe(true);
    const upgraded = network(options);
    upgraded.restore("k", older);
    expect(upgraded.snapshot("k")?.weekly?.firstMs).toBeNull();
    expect(upgraded.snapshot("k")?.clock).toEqual(state.clock);
  });

  it("starts a key over after more than maxGapMs of silence: it warms up again", () => {
    const n = network({ maxGapMs: 3_600_000, warmupSamples: 30 });
    for (let i = 0; i < 100; i++) n.observe("k", T0 + i * 10_000, 50 + (i % 5));
    const after = T0 + 100 * 10_000 + 3_600_001;
    expect(n.observe("k", after, 5_000)).toBe(-1);
    expect(n.didReset).toBe(true);
    for (let i = 1; i < 30; i++) expect(n.observe("k", after + i * 10_000, i % 2 ? 0 : 9_000)).toBe(-1);
    expect(n.didReset).toBe(false);
  });

  it("with STDP, learns per-key weights and resumes identically from a snapshot", () => {
    const options = { stdp: { enabled: true, aPlus: 0.05, aMinus: 0.02 } } as Partial<SnnFilterOptions>;
    const events = demoEvents();
    const whole = network(options);
    const expected = events.map((e) => whole.observe(`${e.source}/${e.metric}`, e.ts, e.value));
    const half = Math.floor(events.length / 2);
    const first = network(options);
    const got = events.slice(0, half).map((e) => first.observe(`${e.source}/${e.metric}`, e.ts, e.value));
    const resumed = network(options);
    for (const e of events.slice(0, half)) {
      const key = `${e.source}/${e.metric}`;
      const state = first.snapshot(key);
      if (state) resumed.restore(key, JSON.parse(JSON.stringify(state)));
    }
    got.push(...events.slice(half).map((e) => resumed.observe(`${e.source}/${e.metric}`, e.ts, e.value)));
    expect(got).toEqual(expected);
    const learned = [...new Set(events.map((e) => `${e.source}/${e.metric}`))].some(
      (key) => whole.weightOf(key, 0, 0) !== 1 || whole.weightOf(key, 1, 0) !== 0,
    );
    expect(learned).toBe(true);
  });
});

type ScoredDriver = ProcessorTestDriver<TelemetryEvent, SnnFilterScoredOutputs, SnnFilterOptions>;
const drivers: ScoredDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function scoredDriver(options: Record<string, unknown> = {}): ScoredDriver {
  const d = new ProcessorTestDriver(snnFilterWithScoresSpec, options, { topic: "telemetry.raw" });
  drivers.push(d);
  return d;
}

const input = (e: TelemetryEvent): PipeInput<TelemetryEvent> => ({
  key: e.source,
  value: e,
  timestampMs: e.ts,
});

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

describe("snn-filter with scores", () => {
  it("emits one AnomalyScore per applied sample beside unchanged spikes", async () => {
    const events = demoEvents();
    const d = scoredDriver();
    await d.pipeAll(events.map(input));
    await d.pipe(input(events.at(-1)!));
    const scores = d.read("scores").map((r) => r.value);
    const spikes = d.read("spikes").map((r) => r.value);
    expect(scores).toHaveLength(events.length);
    expect(scores.filter((s) => s.isSpike)).toHaveLength(spikes.length);
    expect(scores.every((s) => s.isSpike === s.score >= 0.5)).toBe(true);
    expect(scores.filter((s) => s.isSpike).map((s) => s.ts)).toEqual(spikes.map((s) => s.timestamp));
  });

  it("dead-letters a new key beyond maxKeys and counts keys started over after a gap", async () => {
    const d = scoredDriver({ maxKeys: 2, maxGapMs: 60_000 });
    const e = (source: string, ts: number): TelemetryEvent => ({
      ts,
      source,
      metric: "m",
      value: 1,
      tags: {},
    });
    await d.pipeAll([e("a", T0), e("b", T0), e("c", T0), e("a", T0 + 60_001)].map(input));
    expect(d.dlq.map((l) => [l.code, (l.value as TelemetryEvent).source])).toEqual([["RECORD_INVALID", "c"]]);
    expect(d.dlq[0]?.reason).toContain("maxKeys (2)");
    expect(await metric(d.metrics, "spikemesh_snn_invalid_records_total", { reason: "too_many_keys" })).toBe(
      1,
    );
    expect(await metric(d.metrics, "spikemesh_snn_key_resets_total")).toBe(1);
  });
});
