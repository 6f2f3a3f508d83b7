/**
 * Side-by-side measurement: a suite runs spikemesh and its baseline in the same process, one
 * after the other, alternating which goes first each repetition so drift on a noisy machine
 * hits both sides alike. Warm-up repetitions run the same code but are not recorded.
 */

/** One timed run of one case. */
export interface Sample {
  records: number;
  /** Bytes the case handled (payload written or read, bytes encoded or decoded). */
  bytes: number;
  seconds: number;
}

/** The samples of one trial, keyed by case name. */
export type TrialResult = Record<string, Sample>;

/** A group of cases measured by one spikemesh trial and one baseline trial. */
export interface Suite {
  /** Case names, in report order; every trial returns a sample for each. */
  cases: readonly string[];
  spikemesh: { label: string; trial: () => Promise<TrialResult> };
  baseline: { label: string; trial: () => Promise<TrialResult> };
  /** Optional: release what the suite set up (servers, temp dirs). */
  close?: () => Promise<void>;
}

export interface RunOptions {
  warmup: number;
  reps: number;
  /** Called after each repetition, e.g. for progress output. */
  onRep?: (rep: number, warm: boolean) => void;
}

/** Statistics of one side of one case over its recorded repetitions. */
export interface SideStats {
  label: string;
  /** Median records/s. */
  recordsPerSec: number;
  minRecordsPerSec: number;
  maxRecordsPerSec: number;
  /** Median MB/s (10^6 bytes). */
  mbPerSec: number;
  samples: Sample[];
}

export interface CaseResult {
  name: string;
  spikemesh: SideStats;
  baseline: SideStats;
  /** Median spikemesh records/s over median baseline records/s. */
  ratio: number;
  /** Best spikemesh records/s over best baseline records/s: less sensitive to other load on the machine. */
  bestRatio: number;
}

/** Runs a suite's two sides `warmup + reps` times, alternating order, and returns one result per case. */
export async function runSuite(suite: Suite, options: RunOptions): Promise<CaseResult[]> {
  const ours: TrialResult[] = [];
  const theirs: TrialResult[] = [];
  for (let rep = 0; rep < options.warmup + options.reps; rep++) {
    const warm = rep < options.warmup;
    let a: TrialResult;
    let b: TrialResult;
    if (rep % 2 === 0) {
      a = await suite.spikemesh.trial();
      b = await suite.baseline.trial();
    } else {
      b = await suite.baseline.trial();
      a = await suite.spikemesh.trial();
    }
    if (!warm) {
      ours.push(a);
      theirs.push(b);
    }
    options.onRep?.(rep, warm);
  }
  return suite.cases.map((name) => {
    const spikemesh = stats(suite.spikemesh.label, pick(ours, name));
    const baseline = stats(suite.baseline.label, pick(theirs, name));
    return {
      name,
      spikemesh,
      baseline,
      ratio: spikemesh.recordsPerSec / baseline.recordsPerSec,
      bestRatio: spikemesh.maxRecordsPerSec / baseline.maxRecordsPerSec,
    };
  });
}

function pick(trials: TrialResult[], name: string): Sample[] {
  return trials.map((t) => {
    const s = t[name];
    if (s === undefined) throw new Error(`trial returned no sample for case "${name}"`);
    return s;
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function stats(label: string, samples: Sample[]): SideStats {
  const rates = samples.map((s) => s.records / s.seconds);
  return {
    label,
    recordsPerSec: median(rates),
    minRecordsPerSec: Math.min(...rates),
    maxRecordsPerSec: Math.max(...rates),
    mbPerSec: median(samples.map((s) => s.bytes / s.seconds / 1e6)),
    samples,
  };
}

/** Times `body` with the monotonic clock; returns seconds. */
export async function timed(body: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await body();
  return (performance.now() - t0) / 1000;
}
