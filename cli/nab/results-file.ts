import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NabSeries } from "./corpus.js";

/** NAB splits result file names on "_": a detector name is letters and digits only. */
export const DETECTOR_NAME = /^[A-Za-z0-9]+$/;

/** `<out>/<detector>/<category>/<detector>_<file>.csv`, NAB's results layout. */
export function resultsPath(outDir: string, detector: string, series: NabSeries): string {
  return join(outDir, detector, series.category, `${detector}_${series.name}.csv`);
}

/**
 * Writes one NAB results file: header `timestamp,value,anomaly_score,label`, one row per data row in
 * the same order, timestamp and value copied as written, `label` 1 inside a window, else 0.
 */
export function writeResultsFile(
  path: string,
  series: NabSeries,
  scores: ArrayLike<number>,
  windows: ReadonlyArray<readonly [number, number]>,
): void {
  const rows = ["timestamp,value,anomaly_score,label"];
  for (let i = 0; i < series.timestamps.length; i++) {
    const t = series.timesMs[i]!;
    const label = windows.some(([a, b]) => t >= a && t <= b) ? 1 : 0;
    rows.push(`${series.timestamps[i]},${series.rawValues[i]},${roundScore(scores[i]!)},${label}`);
  }
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, `${rows.join("\n")}\n`);
}

/**
 * A score as written: clamped to [0, 1] (0 for NaN) with 12 significant digits, enough that distinct
 * scores stay distinct. Score the rounded values so our NAB score matches what NAB reads back.
 */
export function roundScore(x: number): number {
  const clamped = Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
  return Number(clamped.toPrecision(12));
}
