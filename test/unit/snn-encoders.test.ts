import { describe, expect, it } from "vitest";
import {
  InputSynapses,
  KeyClock,
  LevelCrossingEncoder,
  LifPopulation,
  SeasonalEncoder,
  stdpOptions,
} from "../../processors/snn-filter/index.js";

const DAY = 86_400_000;
const STEP = 300_000;
const T0 = Date.UTC(2026, 0, 1);

describe("KeyClock", () => {
  it("is plain event time without cadenceStepMs, never running backwards", () => {
    const c = new KeyClock();
    const s = c.addSlot();
    expect(c.advance(s, 1_000)).toBe(1_000);
    expect(c.advance(s, 4_000)).toBe(4_000);
    expect(c.advance(s, 2_000)).toBe(4_000);
    expect(c.lastOf(s)).toBe(4_000);
    expect(c.gapOf(s, 10_000)).toBe(6_000);
  });

  it("counts samples, not milliseconds, with cadenceStepMs: an hourly and a 5-minute key keep pace", () => {
    const c = new KeyClock(STEP);
    const hourly = c.addSlot();
    const fast = c.addSlot();
    let h = 0;
    let f = 0;
    for (let i = 0; i <= 100; i++) {
      h = c.advance(hourly, T0 + i * 3_600_000);
      f = c.advance(fast, T0 + i * STEP);
    }
    expect(h - T0).toBeCloseTo(100 * STEP, 6);
    expect(f - T0).toBeCloseTo(100 * STEP, 6);
    // A gap of 12 spacings is 12 steps of local time, exactly, and barely moves the cadence.
    expect(c.advance(fast, T0 + 112 * STEP) - f).toBeCloseTo(12 * STEP, 6);
    expect(c.snapshot(fast).cadenceMs).toBeLessThan(STEP * 1.1);
  });

  it("forgets a slot on reset and resumes from a snapshot", () => {
    const c = new KeyClock(STEP);
    const s = c.addSlot();
    for (let i = 0; i < 5; i++) c.advance(s, T0 + i * 60_000);
    const copy = new KeyClock(STEP);
    const t = copy.addSlot();
    copy.restore(t, JSON.parse(JSON.stringify(c.snapshot(s))));
    expect(copy.advance(t, T0 + 5 * 60_000)).toBe(c.advance(s, T0 + 5 * 60_000));
    c.reset(s);
    expect(c.lastOf(s)).toBeNaN();
    expect(c.advance(s, T0)).toBe(T0);
  });
});

describe("SeasonalEncoder", () => {
  const config = { periodMs: DAY, bins: 48, statsTauMs: DAY, deadband: 2.5, warmupSamples: 50 };
  const daily = (t: number) => 50 + 30 * Math.sin((2 * Math.PI * (t % DAY)) / DAY);
  const noise = (i: number) => (((i * 7919) % 101) / 101 - 0.5) * 2;

  it("learns a daily pattern: normal peaks are quiet, a normal level at the wrong time is not", () => {
    const e = new SeasonalEncoder(config);
    const s = e.addSlot();
    let maxNormal = 0;
    for (let i = 0; i < 5 * 288; i++) {
      const t = T0 + i * STEP;
      const current = e.encode(s, t, t, daily(t) + noise(i));
      if (i >= 2 * 288) maxNormal = Math.max(maxNormal, current);
    }
    expect(e.isWarm(s)).toBe(true);
    expect(maxNormal).toBeLessThan(0.5);
    // The pattern predicts far better than the plain spread of the values (variance 30²/2 = 450).
    expect(e.meanSquaredError(s)).toBeLessThan(0.1 * 450);
    // The daily peak value (80) at the daily trough's time.
    const trough = T0 + 5 * DAY + 0.75 * DAY;
    expect(e.encode(s, trough, trough, 80)).toBeGreaterThan(10);
    expect(e.score).toBeGreaterThan(10);
  });

  it("stays silent until a whole period has passed", () => {
    const e = new SeasonalEncoder({ ...config, warmupSamples: 0 });
    const s = e.addSlot();
    for (let i = 0; i < 287; i++) expect(e.encode(s, T0 + i * STEP, T0 + i * STEP, i % 2 ? 0 : 1e6)).toBe(0);
    expect(e.binOf(T0 + 0.5 * DAY)).toBe(24);
  });

  it("resumes from a snapshot and rejects one with another number of bins", () => {
    const e = new SeasonalEncoder(config);
    const s = e.addSlot();
    for (let i = 0; i < 400; i++) e.encode(s, T0 + i * STEP, T0 + i * STEP, daily(T0 + i * STEP));
    const copy = new SeasonalEncoder(config);
    const c = copy.addSlot();
    copy.restore(c, JSON.parse(JSON.stringify(e.snapshot(s))));
    const t = T0 + 400 * STEP;
    expect(copy.encode(c, t, t, 99)).toBe(e.encode(s, t, t, 99));
    const other = new SeasonalEncoder({ ...config, bins: 24 });
    expect(() => other.restore(other.addSlot(), e.snapshot(s))).toThrow(RangeError);
  });
});

describe("LevelCrossingEncoder", () => {
  it("counts the levels crossed and moves its reference along", () => {
    const e = new LevelCrossingEncoder({ statsTauMs: 60_000, deadband: 2.5, warmupSamples: 0 });
    const s = e.addSlot();
    e.encode(s, 0, 10, 1);
    e.encode(s, 1, 12.5, 1);
    expect(e.crossings).toBe(2);
    e.encode(s, 2, 11.9, 1);
    expect(e.crossings).toBe(0);
    e.encode(s, 3, 10.9, 1);
    expect(e.crossings).toBe(1);
    expect(e.snapshot(s).reference).toBe(11);
  });

  it("drives current when the signal gets much busier than usual, not when it goes quiet", () => {
    const e = new LevelCrossingEncoder({ statsTauMs: 100_000, deadband: 2.5, warmupSamples: 30 });
    const s = e.addSlot();
    for (let i = 0; i < 300; i++) expect(e.encode(s, i * 1_000, i % 10 === 0 ? 1 : 0, 1)).toBe(0);
    expect(e.encode(s, 300_000, 0, 1)).toBe(0);
    expect(e.encode(s, 301_000, 8, 1)).toBeGreaterThan(5);
  });
});

describe("InputSynapses", () => {
  const initial = [
    [1, 0],
    [0, 0.5],
  ];

  it("projects channel inputs through fixed weights when plasticity is off", () => {
    const syn = new InputSynapses(initial, stdpOptions.parse({}));
    const s = syn.addSlot();
    const out = new Float64Array(2);
    syn.project(s, 0, Float64Array.of(2, 4), out);
    expect(Array.from(out)).toEqual([2, 2]);
    syn.onSpike(s, 0);
    expect(syn.weightOf(s, 0, 0)).toBe(1);
    expect(syn.snapshot(s).weights).toBeNull();
  });

  it("with STDP, strengthens inputs that led to a spike and weakens input that follows one", () => {
    const stdp = stdpOptions.parse({
      enabled: true,
      aPlus: 0.1,
      aMinus: 0.05,
      tauPlusMs: 1_000,
      tauMinusMs: 1_000,
    });
    const syn = new InputSynapses(initial, stdp);
    const s = syn.addSlot();
    const out = new Float64Array(2);
    syn.project(s, 0, Float64Array.of(0, 2), out);
    syn.onSpike(s, 0);
    // pre trace of channel 1 was 2: w[1][0] = 0 + 0.1 · 2; channel 0 carried nothing, w[0][0] stays 1.
    expect(syn.weightOf(s, 1, 0)).toBeCloseTo(0.2, 12);
    expect(syn.weightOf(s, 0, 0)).toBe(1);
    // 1 s later channel 0 carries 1: post trace of neuron 0 is e^-1, so w[0][0] -= 0.05 · e^-1 · 1.
    syn.project(s, 1_000, Float64Array.of(1, 0), out);
    expect(syn.weightOf(s, 0, 0)).toBeCloseTo(1 - 0.05 * Math.exp(-1), 12);
    expect(out[0]).toBeCloseTo(1 - 0.05 * Math.exp(-1), 12);
    // Weights stay within [0, weightMax] and a restored slot carries on identically.
    for (let i = 0; i < 200; i++) syn.onSpike(s, 1);
    expect(syn.weightOf(s, 1, 1)).toBe(2);
    const copy = new InputSynapses(initial, stdp);
    const c = copy.addSlot();
    copy.restore(c, JSON.parse(JSON.stringify(syn.snapshot(s))));
    const a = new Float64Array(2);
    const b = new Float64Array(2);
    syn.project(s, 1_500, Float64Array.of(1, 1), a);
    copy.project(c, 1_500, Float64Array.of(1, 1), b);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});

describe("LifPopulation: peak and reset", () => {
  it("reports the peak potential/threshold of each step and resets a slot to rest", () => {
    const p = new LifPopulation({
      neurons: [{ tauMs: 1_000 }, { tauMs: 10_000 }],
      thresholdBase: 1,
      thresholdJump: 1,
      tauThresholdMs: 10_000,
      refractoryMs: 500,
      inhibition: 0,
    });
    const s = p.addSlot();
    p.step(s, 0, [0.25, 0.5]);
    expect(p.lastPeak).toBe(0.5);
    expect(p.step(s, 0, [0, 0.75]).neuron).toBe(1);
    expect(p.lastPeak).toBe(1.25);
    // Neuron 1 is refractory: only neuron 0 counts toward the peak.
    p.step(s, 100, [0, 5]);
    expect(p.lastPeak).toBeCloseTo(0.25 * Math.exp(-0.1), 12);
    p.reset(s);
    expect(p.thresholdOf(s, 1)).toBe(1);
    expect(p.lastTimeOf(s)).toBeUndefined();
    expect(p.step(s, 200, [0, 1]).neuron).toBe(1);
  });
});
