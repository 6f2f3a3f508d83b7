import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { SnnFilterOptions } from "../../processors/snn-filter/index.js";
import { ConfigError } from "../../streams/index.js";
import { findWindowsFile, readNabCorpus, readWindows, windowsOf } from "./corpus.js";
import { NabDetector } from "./detect.js";
import { resultsPath, roundScore, writeResultsFile } from "./results-file.js";
import { type CostMatrix, NAB_PROFILES, type ProfileResult, type ScoredFile, scoreCorpus } from "./scorer.js";
import { type SuppressionFigures, suppressionAt } from "./suppression.js";

export interface NabRunOptions {
  /** NAB data directory: `<category>/<file>.csv`. */
  dataDir: string;
  /** Results root: files go to `<outDir>/<detector>/<category>/<detector>_<file>.csv`. */
  outDir: string;
  /** Letters and digits only. Default "spikemesh". */
  detector?: string;
  /** Label windows (NAB's combined_windows.json); default: found beside the data directory. */
  windowsPath?: string;
  /** NAB's profiles.json; default: found beside the data directory, else NAB's three built in. */
  profilesPath?: string;
  /** Overrides of the filter options on top of NAB_FILTER_OPTIONS. */
  filterOptions?: Partial<SnnFilterOptions>;
  /** Called after each file. */
  onProgress?: (done: number, total: number, file: string) => void;
}

export interface NabReport {
  detector: string;
  dataDir: string;
  outDir: string;
  windowsPath: string | null;
  files: number;
  records: number;
  /** Records where a neuron fired: what the filter emits as SpikeRecords. */
  spikes: number;
  /** Records the filter would dead-letter, by reason, and exact repeats it ignores. */
  rejected: Record<string, number>;
  duplicates: number;
  /** Time spent in the filter alone, and its rate. */
  filterMs: number;
  eventsPerSec: number;
  options: SnnFilterOptions;
  /** Per profile, when windows are known: the NAB score and the suppression at its threshold. */
  profiles: Array<ProfileResult & { suppression: SuppressionFigures }>;
  /** The same figures for the filter's own spikes (anomaly score ≥ 0.5). */
  spikeSuppression: SuppressionFigures | null;
}

/**
 * `spikemesh nab`: runs the SNN filter over every NAB CSV under `dataDir` (online, in file order, no
 * labels), writes NAB results files, and - when the label windows are found - scores them with the
 * NAB scorer (cli/nab/scorer.ts) for every profile, with suppression figures.
 */
export function runNab(opts: NabRunOptions): NabReport {
  const detector = opts.detector ?? "spikemesh";
  const corpus = readNabCorpus(opts.dataDir);
  const windowsPath = findWindowsFile(opts.dataDir, opts.windowsPath);
  const windows = windowsPath === undefined ? undefined : readWindows(windowsPath);
  const nab = new NabDetector(opts.filterOptions);
  const scored: ScoredFile[] = [];
  const rejected: Record<string, number> = {};
  let records = 0;
  let spikes = 0;
  let duplicates = 0;
  let filterMs = 0;
  for (const [i, series] of corpus.entries()) {
    const started = performance.now();
    const result = nab.run(series);
    filterMs += performance.now() - started;
    const fileWindows = windowsOf(series, windows);
    const scores = Float64Array.from(result.scores, roundScore);
    writeResultsFile(resultsPath(opts.outDir, detector, series), series, scores, fileWindows);
    scored.push({ name: series.relativePath, timesMs: series.timesMs, scores, windows: fileWindows });
    records += series.values.length;
    for (const s of result.spikes) spikes += s;
    duplicates += result.duplicates;
    for (const [reason, n] of Object.entries(result.rejected)) rejected[reason] = (rejected[reason] ?? 0) + n;
    opts.onProgress?.(i + 1, corpus.length, series.relativePath);
  }
  const profiles =
    windows === undefined
      ? []
      : Object.entries(readProfiles(opts.dataDir, opts.profilesPath)).map(([name, cost]) => {
          const result = scoreCorpus(scored, cost, name);
          return { ...result, suppression: suppressionAt(scored, result.threshold) };
        });
  return {
    detector,
    dataDir: opts.dataDir,
    outDir: opts.outDir,
    windowsPath: windowsPath ?? null,
    files: corpus.length,
    records,
    spikes,
    rejected,
    duplicates,
    filterMs,
    eventsPerSec: filterMs > 0 ? (records * 1000) / filterMs : 0,
    options: nab.options,
    profiles,
    spikeSuppression: windows === undefined ? null : suppressionAt(scored, 0.5),
  };
}

/** NAB's profiles.json (`--profiles`, or beside the data directory, or in `config/` beside it), else the built-in three. */
function readProfiles(dataDir: string, explicit?: string): Record<string, CostMatrix> {
  const parent = dirname(dataDir.replace(/\/+$/, ""));
  const path =
    explicit ?? [join(parent, "profiles.json"), join(parent, "config", "profiles.json")].find(existsSync);
  if (path === undefined) return { ...NAB_PROFILES };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError([`${path}: not readable JSON (${(err as Error).message})`]);
  }
  const out: Record<string, CostMatrix> = {};
  for (const [name, profile] of Object.entries((parsed ?? {}) as Record<string, unknown>)) {
    const m = (profile as { CostMatrix?: Record<string, unknown> } | null)?.CostMatrix;
    const [tp, fp, fn] = [m?.tpWeight, m?.fpWeight, m?.fnWeight];
    if (typeof tp !== "number" || typeof fp !== "number" || typeof fn !== "number") {
      throw new ConfigError([`${path}: profile "${name}" needs CostMatrix.tpWeight, fpWeight and fnWeight`]);
    }
    out[name] = { tpWeight: tp, fpWeight: fp, fnWeight: fn };
  }
  if (Object.keys(out).length === 0) throw new ConfigError([`${path}: no profiles`]);
  return out;
}
