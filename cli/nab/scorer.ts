/**
 * The NAB score (Numenta Anomaly Benchmark v1.1), computed here the way NAB's own scorer does it
 * (`nab/sweeper.py`, the corpus-wide threshold optimisation and the normalisation in `nab/runner.py`):
 *
 * - The first 15% of each file (at most 750 records) is a probationary period: not scored.
 * - A record inside a labelled window, if it is a detection, is worth
 *   `tpWeight * S(-(right - i + 1) / width) / S(-1)`, where S is the scaled sigmoid below; a window
 *   counts only its best (earliest) detection, and a window with none costs `fnWeight`.
 * - A detection outside every window costs `fpWeight`, scaled by S of its distance after the
 *   previous window's right edge in window widths (`|right - i| / (width - 1)`); before the first
 *   window of its file it costs the full `fpWeight`. Every such record counts.
 * - One threshold for the whole corpus, per profile: the one that maximises the summed score (a record
 *   is a detection when its anomaly score is ≥ the threshold).
 * - Normalised: 100 · (raw − null) / (perfect − null), where null is the score of a detector that
 *   outputs 0.5 everywhere (optimised the same way) and perfect is `tpWeight` per labelled window.
 */

/** Weights of one application profile (NAB's `config/profiles.json`). */
export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export const NAB_PROFILE_NAMES = ["standard", "reward_low_FP_rate", "reward_low_FN_rate"] as const;
export type NabProfileName = (typeof NAB_PROFILE_NAMES)[number];

/** NAB's three profiles, as in its `config/profiles.json`. */
export const NAB_PROFILES: Readonly<Record<NabProfileName, CostMatrix>> = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 },
};

/** Share of each file NAB leaves unscored at its start. */
export const PROBATION_PERCENT = 0.15;

/** One scored file: per-record event times and anomaly scores, and its windows as [start, end] times. */
export interface ScoredFile {
  name: string;
  timesMs: ArrayLike<number>;
  scores: ArrayLike<number>;
  /** Window limits in the same time unit as `timesMs`; each limit must be one of the file's times. */
  windows: ReadonlyArray<readonly [number, number]>;
}

/** The value of the corpus at one threshold. */
export interface ThresholdScore {
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
}

/** NAB's scaled sigmoid: 2·σ(−5x) − 1, and −1 beyond 3 window widths. */
export function scaledSigmoid(x: number): number {
  if (x > 3) return -1;
  return 2 / (1 + Math.exp(5 * x)) - 1;
}

/** Records NAB leaves unscored at the start of a file of `rows` records: min(⌊0.15·rows⌋, 750). */
export function probationLength(rows: number, percent = PROBATION_PERCENT): number {
  return Math.min(Math.floor(percent * rows), percent * 5000);
}

/**
 * What each record of a file would contribute as a detection (NAB's "sweep score"), and which window
 * it lies in: window ids are global across files (offset by `windowBase`), -1 outside every window,
 * -2 in the probationary period.
 */
export interface Sweep {
  sweepScores: Float64Array;
  windowIds: Int32Array;
  /** Windows of this file whose start and end are both among its times. */
  windowCount: number;
  /** Window limits that match none of the file's times (NAB silently never enters those). */
  unmatched: number;
}

export function sweepFile(file: ScoredFile, cost: CostMatrix, windowBase = 0): Sweep {
  const n = file.timesMs.length;
  if (file.scores.length !== n) {
    throw new RangeError(`${file.name}: ${file.scores.length} anomaly scores for ${n} records`);
  }
  const index = new Map<number, number>();
  for (let i = 0; i < n; i++) if (!index.has(file.timesMs[i]!)) index.set(file.timesMs[i]!, i);
  const windows: Array<{ left: number; right: number }> = [];
  let unmatched = 0;
  for (const [start, end] of file.windows) {
    const left = index.get(start);
    const right = index.get(end);
    if (left === undefined || right === undefined || right < left) unmatched++;
    else windows.push({ left, right });
  }
  windows.sort((a, b) => a.left - b.left);
  const maxTp = scaledSigmoid(-1);
  const probation = probationLength(n);
  const sweepScores = new Float64Array(n);
  const windowIds = new Int32Array(n);
  let w = 0;
  let current: { left: number; right: number } | undefined;
  let previous: { left: number; right: number } | undefined;
  for (let i = 0; i < n; i++) {
    if (current === undefined && w < windows.length && windows[w]!.left === i) current = windows[w++];
    let value: number;
    if (current !== undefined) {
      const width = current.right - current.left + 1;
      value = (scaledSigmoid(-(current.right - i + 1) / width) * cost.tpWeight) / maxTp;
    } else if (previous === undefined) {
      value = -cost.fpWeight;
    } else {
      const width = previous.right - previous.left + 1;
      value = scaledSigmoid(Math.abs(previous.right - i) / (width - 1)) * cost.fpWeight;
    }
    sweepScores[i] = value;
    windowIds[i] = i < probation ? -2 : current === undefined ? -1 : windowBase + w - 1;
    if (current !== undefined && i === current.right) {
      previous = current;
      current = undefined;
    }
  }
  return { sweepScores, windowIds, windowCount: windows.length, unmatched };
}

/**
 * The corpus score at every distinct threshold, highest threshold first (NAB's
 * `calcScoreByThreshold`): the first entry (threshold 1.1) has no detections; each later entry counts
 * every scored record whose anomaly score is ≥ its threshold.
 */
export function scoresByThreshold(files: readonly ScoredFile[], cost: CostMatrix): ThresholdScore[] {
  const scores: number[] = [];
  const sweep: number[] = [];
  const windowOf: number[] = [];
  let windowBase = 0;
  for (const file of files) {
    const s = sweepFile(file, cost, windowBase);
    windowBase += s.windowCount;
    for (let i = 0; i < s.windowIds.length; i++) {
      if (s.windowIds[i] === -2) continue;
      scores.push(file.scores[i]!);
      sweep.push(s.sweepScores[i]!);
      windowOf.push(s.windowIds[i]!);
    }
  }
  const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);
  // Only windows with at least one scored record take part, each starting as a false negative.
  const best = new Float64Array(windowBase).fill(Number.NaN);
  let windowSum = 0;
  let tn = 0;
  let fn = 0;
  for (const id of windowOf) {
    if (id < 0) tn++;
    else {
      fn++;
      if (Number.isNaN(best[id]!)) {
        best[id] = -cost.fnWeight;
        windowSum -= cost.fnWeight;
      }
    }
  }
  let fpSum = 0;
  let tp = 0;
  let fp = 0;
  let threshold = 1.1;
  const out: ThresholdScore[] = [];
  for (const i of order) {
    const s = scores[i]!;
    if (s !== threshold) {
      out.push({ threshold, score: windowSum + fpSum, tp, tn, fp, fn });
      threshold = s;
    }
    const id = windowOf[i]!;
    if (id < 0) {
      fp++;
      tn--;
      fpSum += sweep[i]!;
    } else {
      tp++;
      fn--;
      if (sweep[i]! > best[id]!) {
        windowSum += sweep[i]! - best[id]!;
        best[id] = sweep[i]!;
      }
    }
  }
  out.push({ threshold, score: windowSum + fpSum, tp, tn, fp, fn });
  return out;
}

/** The threshold with the best corpus score (the highest such threshold on ties, as NAB's stable sort gives). */
export function optimizeThreshold(files: readonly ScoredFile[], cost: CostMatrix): ThresholdScore {
  let best: ThresholdScore | undefined;
  for (const s of scoresByThreshold(files, cost)) if (best === undefined || s.score > best.score) best = s;
  if (best === undefined) throw new RangeError("optimizeThreshold: no files");
  return best;
}

/** One file's part of a profile's result at the chosen threshold. */
export interface FileResult {
  name: string;
  score: number;
  windows: number;
  /** Windows with at least one detection. */
  detectedWindows: number;
  /** Scored detections outside every window. */
  falsePositives: number;
  /** Scored records that are detections (anomaly score ≥ threshold, after probation). */
  detections: number;
}

export interface ProfileResult {
  profile: string;
  cost: CostMatrix;
  threshold: number;
  raw: number;
  nullScore: number;
  perfect: number;
  /** 100 · (raw − null) / (perfect − null). */
  normalized: number;
  counts: { tp: number; tn: number; fp: number; fn: number };
  files: FileResult[];
}

/**
 * Scores a corpus under one profile: picks the threshold, normalises against the null detector and
 * the perfect one (`labelCount` windows, default: all windows of the files), and breaks the result
 * down per file.
 */
export function scoreCorpus(
  files: readonly ScoredFile[],
  cost: CostMatrix,
  profile = "custom",
  labelCount = files.reduce((n, f) => n + f.windows.length, 0),
): ProfileResult {
  const best = optimizeThreshold(files, cost);
  const nullFiles = files.map((f) => ({ ...f, scores: new Float64Array(f.timesMs.length).fill(0.5) }));
  const nullScore = optimizeThreshold(nullFiles, cost).score;
  const perfect = labelCount * cost.tpWeight;
  const normalized = perfect === nullScore ? 0 : (100 * (best.score - nullScore)) / (perfect - nullScore);
  return {
    profile,
    cost,
    threshold: best.threshold,
    raw: best.score,
    nullScore,
    perfect,
    normalized,
    counts: { tp: best.tp, tn: best.tn, fp: best.fp, fn: best.fn },
    files: files.map((f) => scoreFileAt(f, cost, best.threshold)),
  };
}

/** One file's score with detections = anomaly score ≥ `threshold`. */
export function scoreFileAt(file: ScoredFile, cost: CostMatrix, threshold: number): FileResult {
  const s = sweepFile(file, cost);
  const best = new Map<number, number>();
  for (const id of s.windowIds) if (id >= 0) best.set(id, -cost.fnWeight);
  let fpSum = 0;
  let falsePositives = 0;
  let detections = 0;
  for (let i = 0; i < s.windowIds.length; i++) {
    const id = s.windowIds[i]!;
    if (id === -2 || !(file.scores[i]! >= threshold)) continue;
    detections++;
    if (id < 0) {
      falsePositives++;
      fpSum += s.sweepScores[i]!;
    } else {
      best.set(id, Math.max(best.get(id)!, s.sweepScores[i]!));
    }
  }
  let windowSum = 0;
  for (const v of best.values()) windowSum += v;
  const detectedWindows = [...best.values()].filter((v) => v > -cost.fnWeight).length;
  return {
    name: file.name,
    score: windowSum + fpSum,
    windows: s.windowCount,
    detectedWindows,
    falsePositives,
    detections,
  };
}
