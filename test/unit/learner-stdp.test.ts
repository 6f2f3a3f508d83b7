import { describe, expect, it } from "vitest";
import {
  applyFeedback,
  decayToward,
  type StdpParams,
  weightChange,
} from "../../processors/feedback-learner/index.js";
import type { Outcome } from "../../schemas/index.js";
import { seededRandom } from "../../streams/index.js";

const params: StdpParams = {
  aPlus: 0.1,
  aMinus: 0.1,
  aNotUseful: 0.02,
  tauMs: 10_000,
  wMin: 0,
  wMax: 1,
  baseline: 0.5,
  decayTauMs: 3_600_000,
};

describe("STDP route-weight rule", () => {
  it("strengthens more for a fast useful answer than for a slow one", () => {
    const fast = weightChange("USEFUL", 500, params);
    const slow = weightChange("USEFUL", 30_000, params);
    expect(fast).toBeGreaterThan(slow);
    expect(slow).toBeGreaterThan(0);
    expect(weightChange("USEFUL", 0, params)).toBeCloseTo(params.aPlus, 12);
    expect(weightChange("USEFUL", params.tauMs, params)).toBeCloseTo(params.aPlus / Math.E, 12);
  });

  it("weakens a little for NOT_USEFUL and by aMinus for ERROR and TIMEOUT", () => {
    expect(weightChange("NOT_USEFUL", 100, params)).toBe(-0.02);
    expect(weightChange("ERROR", 100, params)).toBe(-0.1);
    expect(weightChange("TIMEOUT", 100, params)).toBe(-0.1);
  });

  it("stays within [wMin, wMax] whatever the feedback", () => {
    const random = seededRandom(3);
    const outcomes: Outcome[] = ["USEFUL", "NOT_USEFUL", "ERROR", "TIMEOUT"];
    let state: ReturnType<typeof applyFeedback> | undefined;
    for (let i = 0; i < 5_000; i++) {
      const outcome = outcomes[Math.floor(random.next() * 4)]!;
      state = applyFeedback(
        state,
        { outcome, latencyMs: random.next() * 1_000, tsMs: i * 10 },
        { ...params, aPlus: 0.5, aMinus: 0.5 },
      );
      expect(state.weight).toBeGreaterThanOrEqual(params.wMin);
      expect(state.weight).toBeLessThanOrEqual(params.wMax);
    }
    expect(state!.updates).toBe(5_000);
  });

  it("decays toward the baseline with event time between updates", () => {
    expect(decayToward(1, 0.5, params.decayTauMs, params.decayTauMs)).toBeCloseTo(0.5 + 0.5 / Math.E, 12);
    expect(decayToward(0, 0.5, 100 * params.decayTauMs, params.decayTauMs)).toBeCloseTo(0.5, 12);
    expect(decayToward(0.9, 0.5, -1_000, params.decayTauMs)).toBe(0.9);
    let state = applyFeedback(undefined, { outcome: "USEFUL", latencyMs: 0, tsMs: 0 }, params);
    for (let i = 1; i < 5; i++)
      state = applyFeedback(state, { outcome: "USEFUL", latencyMs: 0, tsMs: i }, params);
    expect(state.weight).toBeCloseTo(params.wMax, 5);
    // A NOT_USEFUL ten decay constants later: the weight is back near baseline, minus the small change.
    const later = applyFeedback(
      state,
      { outcome: "NOT_USEFUL", latencyMs: 0, tsMs: 10 * params.decayTauMs },
      params,
    );
    expect(later.weight).toBeCloseTo(params.baseline - params.aNotUseful, 4);
    expect(later.lastMs).toBe(10 * params.decayTauMs);
  });

  it("starts a new route at the baseline", () => {
    const first = applyFeedback(undefined, { outcome: "ERROR", latencyMs: 0, tsMs: 1_000 }, params);
    expect(first).toEqual({ weight: 0.4, updates: 1, lastMs: 1_000 });
  });
});
