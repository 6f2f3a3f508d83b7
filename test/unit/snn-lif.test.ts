import { describe, expect, it } from "vitest";
import {
  DecayingStats,
  type LifConfig,
  LifPopulation,
  MAX_ABS_SCORE,
  NO_SPIKE,
} from "../../processors/snn-filter/index.js";

const ONE_NEURON: LifConfig = {
  neurons: [{ tauMs: 1_000 }],
  thresholdBase: 1,
  thresholdJump: 0.5,
  tauThresholdMs: 10_000,
  refractoryMs: 500,
  inhibition: 0,
};

function population(config: Partial<LifConfig> = {}): LifPopulation {
  return new LifPopulation({ ...ONE_NEURON, ...config });
}

describe("LifPopulation: leak on event time", () => {
  it("decays the potential exactly by exp(-Δt/τ) between irregular inputs", () => {
    const p = population();
    const slot = p.addSlot();
    expect(p.step(slot, 0, [0.6])).toBe(NO_SPIKE);
    expect(p.potentialOf(slot, 0)).toBe(0.6);
    p.step(slot, 700, [0]);
    expect(p.potentialOf(slot, 0)).toBeCloseTo(0.6 * Math.exp(-0.7), 15);
    p.step(slot, 733, [0.1]);
    expect(p.potentialOf(slot, 0)).toBeCloseTo(0.6 * Math.exp(-0.733) + 0.1, 15);
    p.step(slot, 5_000, [0]);
    expect(p.potentialOf(slot, 0)).toBeCloseTo((0.6 * Math.exp(-0.733) + 0.1) * Math.exp(-4.267), 15);
  });

  it("gives the same potential whether the gap is crossed in one step or many", () => {
    const p = population();
    const once = p.addSlot();
    const many = p.addSlot();
    p.step(once, 0, [0.9]);
    p.step(many, 0, [0.9]);
    p.step(once, 2_345, [0]);
    for (const t of [1, 10, 400, 401, 1_999, 2_345]) p.step(many, t, [0]);
    expect(p.potentialOf(many, 0)).toBeCloseTo(p.potentialOf(once, 0), 15);
    expect(p.potentialOf(once, 0)).toBeCloseTo(0.9 * Math.exp(-2.345), 15);
  });

  it("applies an input earlier than the slot's last one at the last time (Δt = 0)", () => {
    const p = population();
    const slot = p.addSlot();
    p.step(slot, 1_000, [0.5]);
    p.step(slot, 400, [0.2]);
    expect(p.lastTimeOf(slot)).toBe(1_000);
    expect(p.potentialOf(slot, 0)).toBeCloseTo(0.7, 15);
  });

  it("keeps slots independent", () => {
    const p = population();
    const a = p.addSlot();
    const b = p.addSlot();
    p.step(a, 0, [0.5]);
    p.step(b, 0, [0.25]);
    p.step(a, 1_000, [0]);
    expect(p.potentialOf(b, 0)).toBe(0.25);
    expect(p.lastTimeOf(b)).toBe(0);
    expect(() => p.step(2, 0, [0])).toThrow(RangeError);
  });
});

describe("LifPopulation: firing, adaptive threshold, refractory period", () => {
  it("fires at threshold, resets, and reports potential over threshold as intensity", () => {
    const p = population();
    const slot = p.addSlot();
    p.step(slot, 0, [0.6]);
    const step = p.step(slot, 100, [0.6]);
    expect(step.neuron).toBe(0);
    expect(step.intensity).toBeCloseTo(0.6 * Math.exp(-0.1) + 0.6, 15);
    expect(p.potentialOf(slot, 0)).toBe(0);
    expect(p.thresholdOf(slot, 0)).toBe(1.5);
  });

  it("raises the threshold per spike and relaxes it toward its base with tauThresholdMs", () => {
    const p = population({ refractoryMs: 0 });
    const slot = p.addSlot();
    expect(p.step(slot, 0, [2]).neuron).toBe(0);
    expect(p.step(slot, 1, [3]).neuron).toBe(0);
    const raised = p.thresholdOf(slot, 0);
    expect(raised).toBeCloseTo(1 + 0.5 * Math.exp(-1 / 10_000) + 0.5, 12);
    // 10 s later the excess over base has fallen to 1/e: a charge that fires a rested neuron does not.
    expect(p.step(slot, 10_001, [1.1])).toBe(NO_SPIKE);
    expect(p.thresholdOf(slot, 0)).toBeCloseTo(1 + (raised - 1) * Math.exp(-1), 12);
    const rested = p.addSlot();
    expect(p.step(rested, 10_001, [1.1]).neuron).toBe(0);
  });

  it("ignores input while refractory and accepts it again once refractoryMs has passed", () => {
    const p = population({ thresholdJump: 0 });
    const slot = p.addSlot();
    expect(p.step(slot, 0, [1]).neuron).toBe(0);
    expect(p.step(slot, 499, [50])).toBe(NO_SPIKE);
    expect(p.potentialOf(slot, 0)).toBe(0);
    expect(p.step(slot, 500, [1]).neuron).toBe(0);
  });

  it("fires only the neuron with the largest potential/threshold and inhibits the others", () => {
    const p = population({
      neurons: [{ tauMs: 1_000 }, { tauMs: 60_000 }, { tauMs: 1_000 }],
      inhibition: 0.5,
    });
    const slot = p.addSlot();
    p.step(slot, 0, [0, 0.9, 0]);
    const step = p.step(slot, 0, [1.2, 0.4, 0.3]);
    expect(step).toEqual({ neuron: 1, intensity: expect.closeTo(1.3, 12) });
    expect(p.potentialOf(slot, 0)).toBeCloseTo(0.7, 12);
    expect(p.potentialOf(slot, 1)).toBe(0);
    expect(p.potentialOf(slot, 2)).toBeCloseTo(-0.2, 12);
    // Neuron 0 is still over threshold, but only one neuron fires per input: it fires on the next.
    expect(p.step(slot, 0, [0.5, 0, 0]).neuron).toBe(0);
  });

  it("with shunting, the others lose that share of their potential before inhibition; at 1 one event gives one spike", () => {
    const three = [{ tauMs: 1_000 }, { tauMs: 60_000 }, { tauMs: 1_000 }];
    const p = population({ neurons: three, inhibition: 0.1, shunting: 0.75 });
    const slot = p.addSlot();
    p.step(slot, 0, [0, 0.9, 0]);
    expect(p.step(slot, 0, [1.2, 0.4, 0.3]).neuron).toBe(1);
    expect(p.potentialOf(slot, 0)).toBeCloseTo(1.2 * 0.25 - 0.1, 12);
    expect(p.potentialOf(slot, 2)).toBeCloseTo(0.3 * 0.25 - 0.1, 12);
    // Two neurons over threshold from one input: without shunting the second fires on the next input.
    for (const [shunting, second] of [
      [0, 1],
      [1, -1],
    ] as const) {
      const q = population({ neurons: three, inhibition: 0, shunting });
      const s = q.addSlot();
      expect(q.step(s, 0, [1.5, 1.2, 0]).neuron).toBe(0);
      expect(q.step(s, 0, [0, 0, 0]).neuron).toBe(second);
    }
  });

  it("with keyRefractoryMs, the others ignore input for that long after a spike; a longer own period stays", () => {
    const p = population({
      neurons: [{ tauMs: 1e9 }, { tauMs: 1e9 }],
      refractoryMs: 500,
      keyRefractoryMs: 200,
      inhibition: 0,
    });
    const slot = p.addSlot();
    expect(p.step(slot, 0, [1, 0]).neuron).toBe(0);
    expect(p.step(slot, 100, [0.3, 0.6])).toBe(NO_SPIKE);
    expect(p.potentialOf(slot, 1)).toBe(0);
    expect(p.lastPeak).toBe(0);
    p.step(slot, 200, [0.3, 0.6]);
    expect(p.potentialOf(slot, 1)).toBeCloseTo(0.6, 12);
    expect(p.potentialOf(slot, 0)).toBe(0);
    // Neuron 1 fires: neuron 0 is still refractory until 500, not only until 400.
    expect(p.step(slot, 200, [0, 0.5]).neuron).toBe(1);
    p.step(slot, 450, [0.7, 0]);
    expect(p.potentialOf(slot, 0)).toBe(0);
    p.step(slot, 500, [0.7, 0]);
    expect(p.potentialOf(slot, 0)).toBeCloseTo(0.7, 12);
  });

  it("with jumpByIntensity, raises the threshold by thresholdJump times the spike's intensity", () => {
    for (const [jumpByIntensity, expected] of [
      [false, 1 + 0.5],
      [true, 1 + 0.5 * 3],
    ] as const) {
      const p = population({ jumpByIntensity });
      const slot = p.addSlot();
      expect(p.step(slot, 0, [3])).toEqual({ neuron: 0, intensity: 3 });
      expect(p.thresholdOf(slot, 0)).toBeCloseTo(expected, 12);
    }
  });

  it("rejects non-finite currents and invalid configuration", () => {
    const p = population();
    const slot = p.addSlot();
    expect(() => p.step(slot, 0, [Number.NaN])).toThrow(RangeError);
    expect(() => population({ thresholdBase: 0 })).toThrow(RangeError);
    expect(() => population({ neurons: [] })).toThrow(RangeError);
    expect(() => population({ inhibition: -1 })).toThrow(RangeError);
    expect(() => population({ shunting: 1.5 })).toThrow(RangeError);
    expect(() => population({ shunting: Number.NaN })).toThrow(RangeError);
    expect(() => population({ keyRefractoryMs: -1 })).toThrow(RangeError);
  });

  it("resumes identically from a JSON snapshot", () => {
    const inputs: Array<[number, number[]]> = [
      [0, [0.7, 0.2]],
      [130, [0.5, 0.9]],
      [290, [2, 0]],
      [1_700, [0.4, 0.4]],
      [1_701, [0, 3]],
      [9_000, [1.1, 1.1]],
    ];
    const config = { neurons: [{ tauMs: 300 }, { tauMs: 5_000 }], inhibition: 0.3 };
    const whole = population(config);
    const a = whole.addSlot();
    const first = population(config);
    const b = first.addSlot();
    const expected = inputs.map(([t, c]) => whole.step(a, t, c));
    const before = inputs.slice(0, 3).map(([t, c]) => first.step(b, t, c));
    const resumed = population(config);
    resumed.addSlot();
    const c = resumed.addSlot();
    resumed.restore(c, JSON.parse(JSON.stringify(first.snapshot(b))));
    const after = inputs.slice(3).map(([t, cur]) => resumed.step(c, t, cur));
    expect([...before, ...after]).toEqual(expected);
    expect(() => resumed.restore(c, { ...first.snapshot(b), potential: [0] })).toThrow(RangeError);
  });
});

describe("DecayingStats", () => {
  /** Brute force: every sample weighted by exp(-(tLast - t)/τ). */
  function reference(samples: Array<[number, number]>, tauMs: number): { mean: number; std: number } {
    const tLast = Math.max(...samples.map(([t]) => t));
    const weights = samples.map(([t]) => Math.exp(-(tLast - t) / tauMs));
    const total = weights.reduce((s, w) => s + w, 0);
    const mean = samples.reduce((s, [, x], i) => s + (weights[i] ?? 0) * x, 0) / total;
    const variance = samples.reduce((s, [, x], i) => s + (weights[i] ?? 0) * (x - mean) ** 2, 0) / total;
    return { mean, std: Math.sqrt(variance) };
  }

  it("matches an exponentially weighted mean and variance over irregular times", () => {
    const samples: Array<[number, number]> = [
      [0, 10],
      [300, 12],
      [300, 9],
      [1_250, 15],
      [1_251, 11],
      [8_000, 30],
      [8_400, 28],
    ];
    const stats = new DecayingStats(2_000);
    const slot = stats.addSlot();
    for (const [t, x] of samples) stats.observe(slot, t, x);
    const ref = reference(samples, 2_000);
    expect(stats.meanOf(slot)).toBeCloseTo(ref.mean, 10);
    expect(stats.stdOf(slot)).toBeCloseTo(ref.std, 10);
    expect(stats.countOf(slot)).toBe(samples.length);
  });

  it("stays accurate on large values with a small spread", () => {
    const stats = new DecayingStats(60_000);
    const slot = stats.addSlot();
    const samples: Array<[number, number]> = [];
    for (let i = 0; i < 200; i++) samples.push([i * 1_000, 1e12 + (i % 2 === 0 ? 1 : -1)]);
    for (const [t, x] of samples) stats.observe(slot, t, x);
    // The spread does not depend on the offset, so the reference works on the small parts.
    const small = samples.map(([t, x]): [number, number] => [t, x - 1e12]);
    expect(stats.stdOf(slot)).toBeCloseTo(reference(small, 60_000).std, 6);
    expect(stats.meanOf(slot) - 1e12).toBeCloseTo(reference(small, 60_000).mean, 3);
  });

  it("scores 0 before any sample and clips the score of a moving constant", () => {
    const stats = new DecayingStats(1_000);
    const slot = stats.addSlot();
    expect(stats.score(slot, 123)).toBe(0);
    for (let t = 0; t < 10; t++) stats.observe(slot, t * 100, 5);
    expect(stats.score(slot, 5)).toBe(0);
    expect(stats.score(slot, 6)).toBe(MAX_ABS_SCORE);
    expect(stats.score(slot, 4)).toBe(-MAX_ABS_SCORE);
  });
});
