import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError } from "../../streams/index.js";

/** One NAB data file: `<category>/<name>.csv` with columns timestamp,value, in file order. */
export interface NabSeries {
  category: string;
  /** File name without `.csv`. */
  name: string;
  /** `<category>/<name>.csv`, the key NAB's label files use. */
  relativePath: string;
  /** The timestamp column as written (copied unchanged to the results file). */
  timestamps: string[];
  /** The value column as written. */
  rawValues: string[];
  /** Timestamps as epoch ms (NAB's are UTC wall times without a zone). */
  timesMs: Float64Array;
  /** Values parsed as numbers (NaN where the text is not a number). */
  values: Float64Array;
}

/** NAB window limits per file (`combined_windows.json`), as written. */
export type NabWindows = Record<string, Array<[string, string]>>;

/**
 * Parses NAB's `YYYY-MM-DD HH:MM:SS[.ffffff]` (also with `T`) as UTC; NaN when it is not one.
 * Sub-millisecond digits are dropped.
 */
export function parseNabTimestamp(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return Number.NaN;
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
}

/** Reads one NAB CSV; the header must be `timestamp,value`. */
export function readNabSeries(path: string, category: string, fileName: string): NabSeries {
  const lines = readFileSync(path, "utf8").split(/\r?\n/);
  const header = (lines[0] ?? "").trim();
  if (header !== "timestamp,value") {
    throw new ConfigError([`${path}:1: expected the header "timestamp,value", found "${header}"`]);
  }
  const timestamps: string[] = [];
  const rawValues: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const comma = line.indexOf(",");
    if (comma < 0) throw new ConfigError([`${path}:${i + 1}: expected "timestamp,value", found "${line}"`]);
    timestamps.push(line.slice(0, comma));
    rawValues.push(line.slice(comma + 1));
  }
  const timesMs = Float64Array.from(timestamps, parseNabTimestamp);
  const bad = timesMs.findIndex((t) => Number.isNaN(t));
  if (bad >= 0) {
    throw new ConfigError([
      `${path}: row ${bad + 1} has timestamp "${timestamps[bad]}", not YYYY-MM-DD HH:MM:SS`,
    ]);
  }
  const values = Float64Array.from(rawValues, (v) => (v.trim() === "" ? Number.NaN : Number(v)));
  const name = fileName.replace(/\.csv$/, "");
  return { category, name, relativePath: `${category}/${name}.csv`, timestamps, rawValues, timesMs, values };
}

/** Every `<category>/<file>.csv` under `dataDir`, sorted by relative path. */
export function readNabCorpus(dataDir: string): NabSeries[] {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new ConfigError([
      `--data ${dataDir}: not a directory (expected NAB's layout <category>/<file>.csv)`,
    ]);
  }
  const out: NabSeries[] = [];
  for (const category of readdirSync(dataDir).sort()) {
    const dir = join(dataDir, category);
    if (!statSync(dir).isDirectory()) continue;
    for (const file of readdirSync(dir).sort()) {
      if (file.endsWith(".csv")) out.push(readNabSeries(join(dir, file), category, file));
    }
  }
  if (out.length === 0) throw new ConfigError([`--data ${dataDir}: no <category>/<file>.csv files found`]);
  return out;
}

/**
 * The label file for a data directory: `--windows` when given, else `combined_windows.json` beside the
 * data directory or in `labels/` beside it (NAB's own layout); undefined when there is none.
 */
export function findWindowsFile(dataDir: string, explicit?: string): string | undefined {
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new ConfigError([`--windows ${explicit}: no such file`]);
    return explicit;
  }
  const parent = dirname(dataDir.replace(/\/+$/, ""));
  for (const candidate of [
    join(dataDir, "combined_windows.json"),
    join(parent, "combined_windows.json"),
    join(parent, "labels", "combined_windows.json"),
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function readWindows(path: string): NabWindows {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError([`${path}: not JSON (${(err as Error).message})`]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`${path}: expected {"<category>/<file>.csv": [[start, end], ...]}`]);
  }
  const out: NabWindows = {};
  for (const [file, list] of Object.entries(parsed)) {
    if (!Array.isArray(list) || !list.every((w) => Array.isArray(w) && w.length === 2)) {
      throw new ConfigError([`${path}: "${file}" must be a list of [start, end] pairs`]);
    }
    out[file] = list.map((w) => [String(w[0]), String(w[1])]);
  }
  return out;
}

/** A series' windows as epoch-ms pairs (empty when the label file does not list it). */
export function windowsOf(series: NabSeries, windows: NabWindows | undefined): Array<[number, number]> {
  return (windows?.[series.relativePath] ?? []).map(([a, b]) => [parseNabTimestamp(a), parseNabTimestamp(b)]);
}
