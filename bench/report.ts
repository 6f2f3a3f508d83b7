/** The bench's output: machine description, a Markdown table of ratios, and the JSON file. */
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import type { LatencyRow } from "./kafka.js";
import type { CaseResult } from "./measure.js";

export interface Machine {
  /** CPUs this process may use (`os.availableParallelism()`, like `nproc`). */
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
}

export function describeMachine(): Machine {
  return {
    cpus: os.availableParallelism(),
    cpuModel: cpuModelName(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

/** `model name` of /proc/cpuinfo where there is one, else what Node reports. */
function cpuModelName(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match?.[1] !== undefined) return match[1].trim();
  } catch {
    // Not Linux: fall through.
  }
  return os.cpus()[0]?.model ?? "unknown";
}

export function machineLine(m: Machine): string {
  return `${m.cpus} CPU (${m.cpuModel}), ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.platform}`;
}

const int = (n: number): string => Math.round(n).toLocaleString("en-US");
const mb = (n: number): string => n.toFixed(1);

/**
 * One Markdown table row per case: medians, the spread of records/s, the ratio of medians and the
 * ratio of the best repetitions (max over max).
 */
export function formatTable(results: readonly CaseResult[]): string {
  const header = [
    "case",
    "spikemesh rec/s (min–max)",
    "spikemesh MB/s",
    "baseline rec/s (min–max)",
    "baseline MB/s",
    "ratio",
    "best ratio",
  ];
  const rows = results.map((r) => [
    r.name,
    `${int(r.spikemesh.recordsPerSec)} (${int(r.spikemesh.minRecordsPerSec)}–${int(r.spikemesh.maxRecordsPerSec)})`,
    mb(r.spikemesh.mbPerSec),
    `${int(r.baseline.recordsPerSec)} (${int(r.baseline.minRecordsPerSec)}–${int(r.baseline.maxRecordsPerSec)})`,
    mb(r.baseline.mbPerSec),
    `${r.ratio.toFixed(2)}×`,
    `${r.bestRatio.toFixed(2)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** Which side is which in each case. */
export function formatLegend(results: readonly CaseResult[]): string {
  return results
    .map((r) => `- ${r.name}: spikemesh = ${r.spikemesh.label}; baseline = ${r.baseline.label}`)
    .join("\n");
}

const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : "–");

/** Event → output latency per Kafka client: spikes of the pipeline, copies of the raw passthrough. */
export function formatLatencyTable(rows: readonly LatencyRow[]): string {
  const header = [
    "latency (paced load)",
    "event→spike p50 ms",
    "p99 ms",
    "max ms",
    "spikes",
    "raw event→copy p50 ms",
    "p99 ms",
    "max ms",
    "copies",
  ];
  const body = rows.map((r) => [
    r.client,
    ms(r.pipeline.p50Ms),
    ms(r.pipeline.p99Ms),
    ms(r.pipeline.maxMs),
    String(r.pipeline.samples),
    ms(r.raw.p50Ms),
    ms(r.raw.p99Ms),
    ms(r.raw.maxMs),
    String(r.raw.samples),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(header), rule, ...body.map(line)].join("\n");
}

export interface JsonReport {
  date: string;
  machine: Machine;
  /** 1-minute load average at the start and end of the run. */
  loadAverage: { start: number; end: number };
  settings: Record<string, unknown>;
  results: readonly CaseResult[];
  latency?: readonly LatencyRow[];
}

export function writeJson(path: string, report: JsonReport): void {
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
