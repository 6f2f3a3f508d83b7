import { describe, expect, it } from "vitest";
import {
  NAB_PROFILES,
  optimizeThreshold,
  probationLength,
  type ScoredFile,
  scaledSigmoid,
  scoreCorpus,
  scoreFileAt,
  scoresByThreshold,
} from "../../cli/nab/scorer.js";
import { suppressionAt } from "../../cli/nab/suppression.js";

const { standard, reward_low_FN_rate: lowFn } = NAB_PROFILES;
const MIN = 60_000;

/**
 * A hand-sized file: 20 records one minute apart, one window over records 10..13 (width 4), so NAB's
 * probation is ⌊0.15 · 20⌋ = 3 records. `detections` maps record index → anomaly score (others 0).
 */
function file(detections: Record<number, number>, name = "cat/a.csv", windows = [[10, 13]]): ScoredFile {
  const scores = new Float64Array(20);
  for (const [i, s] of Object.entries(detections)) scores[Number(i)] = s;
  return {
    name,
    timesMs: Float64Array.from({ length: 20 }, (_, i) => i * MIN),
    scores,
    windows: windows.map(([a, b]) => [a! * MIN, b! * MIN] as const),
  };
}

// Values worked by hand from S(x) = 2 / (1 + e^(5x)) - 1:
const MAX_TP = 0.9866142981514305; // S(-1) = 2·σ(5) - 1
const TP_AT_12 = 0.8597925669097837; // S(-(13 - 12 + 1)/4) / S(-1) = S(-0.5) / S(-1) = 0.8482836 / 0.9866143
const TP_AT_11 = 0.9669890878000605; // S(-0.75) / S(-1)
const FP_AT_14 = -0.07504879692619866; // 0.11 · S(|13 - 14| / (4 - 1)) = 0.11 · S(1/3)

describe("NAB scaled sigmoid and probation", () => {
  it("matches NAB's documented values", () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.98661, 5);
    expect(scaledSigmoid(3.01)).toBe(-1);
    expect(MAX_TP).toBeCloseTo(scaledSigmoid(-1), 15);
  });

  it("leaves min(⌊15% of the rows⌋, 750) records unscored", () => {
    expect(probationLength(20)).toBe(3);
    expect(probationLength(4032)).toBe(604);
    expect(probationLength(22_695)).toBe(750);
  });
});

describe("NAB score of one file", () => {
  it("gives a detection at the window's first record the full tpWeight", () => {
    const r = scoreFileAt(file({ 10: 1 }), standard, 1);
    expect(r.score).toBeCloseTo(1, 12);
    expect(r).toMatchObject({ windows: 1, detectedWindows: 1, falsePositives: 0, detections: 1 });
  });

  it("scales a later detection down by the sigmoid of its position", () => {
    expect(scoreFileAt(file({ 12: 1 }), standard, 1).score).toBeCloseTo(TP_AT_12, 12);
  });

  it("counts only the earliest detection of a window", () => {
    // Both detected: the window is worth its best (earliest) record, counted once.
    expect(scoreFileAt(file({ 11: 0.6, 12: 1 }), standard, 0.5).score).toBeCloseTo(TP_AT_11, 12);
  });

  it("charges a missed window fnWeight", () => {
    expect(scoreFileAt(file({}), standard, 0.5).score).toBe(-1);
    expect(scoreFileAt(file({}), lowFn, 0.5).score).toBe(-2);
  });

  it("charges every false positive before the first window the full fpWeight, none in probation", () => {
    const r = scoreFileAt(file({ 2: 1, 5: 1, 6: 1, 10: 1 }), standard, 1);
    expect(r.falsePositives).toBe(2);
    expect(r.score).toBeCloseTo(1 - 2 * 0.11, 12);
  });

  it("charges a false positive just after a window less than a distant one", () => {
    expect(scoreFileAt(file({ 10: 1, 14: 1 }), standard, 1).score).toBeCloseTo(1 + FP_AT_14, 12);
    const far = scoreFileAt(file({ 10: 1, 19: 1 }), standard, 1).score;
    expect(far).toBeLessThan(1 + FP_AT_14);
    expect(far).toBeCloseTo(1 + 0.11 * scaledSigmoid(6 / 3), 12);
  });
});

describe("NAB threshold sweep and normalisation", () => {
  it("lists the corpus score at every distinct threshold, detections being scores ≥ threshold", () => {
    const rows = scoresByThreshold([file({ 5: 0.9, 12: 0.7 })], standard);
    expect(rows.map((r) => r.threshold)).toEqual([1.1, 0.9, 0.7, 0]);
    expect(rows[0]?.score).toBe(-1);
    expect(rows[1]?.score).toBeCloseTo(-1 - 0.11, 12);
    expect(rows[2]?.score).toBeCloseTo(TP_AT_12 - 0.11, 12);
    expect(rows[2]).toMatchObject({ tp: 1, fp: 1 });
    // Threshold 0: every scored record is a detection; the window is worth its first record.
    expect(rows[3]?.score).toBeCloseTo(1 - 7 * 0.11 - 0.615655946990477, 9);
    expect(rows[3]).toMatchObject({ tp: 4, fp: 13, tn: 0, fn: 0 });
  });

  it("picks one threshold for the whole corpus, the highest among equal best scores", () => {
    const files = [file({ 12: 0.7 }, "cat/a.csv"), file({ 10: 0.8, 15: 0.75 }, "cat/b.csv")];
    const best = optimizeThreshold(files, standard);
    // At 0.7: both windows found (TP_AT_12 + 1) and b's FP at 15 costs 0.11 · S(2/3).
    expect(best.threshold).toBe(0.7);
    expect(best.score).toBeCloseTo(TP_AT_12 + 1 + 0.11 * scaledSigmoid(2 / 3), 12);
    const tie = optimizeThreshold([file({ 10: 0.8 }), file({ 10: 0.8 }, "cat/b.csv", [])], standard);
    expect(tie.threshold).toBe(0.8);
  });

  it("normalises to 0 for the null detector and 100 for a perfect one", () => {
    // The null detector scores 0.5 everywhere, optimised like any other: on files this small, flagging
    // everything beats flagging nothing. Per file: the window found at its first record (+1), 7 false
    // positives before it (-7 · 0.11) and 6 after it (-0.615656, the sum of 0.11 · S(k/3), k = 1..6).
    const nullPerFile = 1 - 7 * 0.11 - 0.615655946990477;
    const perfect = scoreCorpus([file({ 10: 1 }), file({ 10: 1 }, "cat/b.csv")], standard, "standard");
    expect(perfect).toMatchObject({ raw: 2, perfect: 2, normalized: 100, threshold: 1 });
    expect(perfect.nullScore).toBeCloseTo(2 * nullPerFile, 9);
    // One of two windows at TP_AT_12, the other missed.
    const half = scoreCorpus([file({ 12: 1 }), file({}, "cat/b.csv")], standard);
    expect(half.raw).toBeCloseTo(TP_AT_12 - 1, 12);
    expect(half.normalized).toBeCloseTo((100 * (TP_AT_12 - 1 - 2 * nullPerFile)) / (2 - 2 * nullPerFile), 9);
    // A detector that never fires scores exactly the null detector's -fnWeight per window when
    // files are long enough that flagging everything costs more.
    const long = (scores: Record<number, number>) => ({
      ...file(scores),
      timesMs: Float64Array.from({ length: 2_000 }, (_, i) => i * MIN),
      scores: Float64Array.from({ length: 2_000 }, (_, i) => scores[i] ?? 0),
      windows: [[1_000 * MIN, 1_099 * MIN] as const],
    });
    const silent = scoreCorpus([long({})], lowFn);
    expect(silent).toMatchObject({ raw: -2, nullScore: -2, normalized: 0 });
    const first = scoreCorpus([long({ 1000: 1 })], lowFn);
    expect(first).toMatchObject({ raw: 1, nullScore: -2, perfect: 1, normalized: 100 });
  });

  it("reports suppression at a threshold: detections per 10k events and windows caught", () => {
    const s = suppressionAt([file({ 5: 0.9, 12: 0.7 }), file({}, "cat/b.csv")], 0.7);
    expect(s).toMatchObject({
      events: 40,
      detections: 2,
      windows: 2,
      windowsCaught: 1,
      windowsCaughtShare: 0.5,
    });
    expect(s.detectionsPer10k).toBe(500);
  });
});
