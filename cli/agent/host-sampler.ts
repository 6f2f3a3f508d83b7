import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { TelemetryEvent } from "../../schemas/index.js";
import { counterDelta, sumDeltas } from "./counter-delta.js";
import {
  type CpuStat,
  type DiskCounters,
  type NetCounters,
  parseCpuStat,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  wholeDisks,
} from "./proc-parsers.js";

/** The /proc files one sample reads, by part; a part is absent when its file could not be read. */
export interface ProcTexts {
  stat?: string;
  meminfo?: string;
  diskstats?: string;
  netDev?: string;
  loadavg?: string;
}

export type ProcPart = keyof ProcTexts;

const FILES: Record<ProcPart, string> = {
  stat: "stat",
  meminfo: "meminfo",
  diskstats: "diskstats",
  netDev: "net/dev",
  loadavg: "loadavg",
};

/** A part of a sample that could not be taken (file unreadable or not in the expected format). */
export interface SampleProblem {
  part: ProcPart;
  message: string;
}

export interface HostSample {
  events: TelemetryEvent[];
  problems: SampleProblem[];
  /** Counters (per device or the CPU's) that went backwards since the last sample: no rate for them. */
  counterResets: number;
}

/**
 * The metrics a sample yields; ratios in [0, 1], rates per second of wall time between samples.
 * Rates and CPU ratios need a previous sample, so the first sample has only the gauges.
 */
export const HOST_METRICS = [
  "cpu.busy_ratio",
  "cpu.iowait_ratio",
  "mem.used_ratio",
  "mem.swap_used_ratio",
  "disk.read_bytes_per_s",
  "disk.write_bytes_per_s",
  "disk.busy_ratio",
  "net.rx_bytes_per_s",
  "net.tx_bytes_per_s",
  "procs.running",
  "procs.blocked",
  "procs.threads",
  "procs.forks_per_s",
  "load.avg_1m",
] as const;

export type HostMetric = (typeof HOST_METRICS)[number];

export interface HostSamplerOptions {
  /** `source` of every event (the record key): the host name or a configured id. */
  source: string;
  tags?: Record<string, string>;
  /** Network interfaces left out of the net rates. Default ["lo"]. */
  netExclude?: readonly string[];
}

interface Previous<T> {
  atMs: number;
  value: T;
}

/**
 * Turns successive reads of /proc into TelemetryEvents. Keeps the previous counters of each part to
 * compute rates; a part that fails is reported and skipped, the others still yield their metrics.
 */
export class HostSampler {
  private cpu: Previous<CpuStat> | undefined;
  private disks: Previous<Map<string, DiskCounters>> | undefined;
  private net: Previous<Map<string, NetCounters>> | undefined;
  private readonly netExclude: Set<string>;

  constructor(private readonly options: HostSamplerOptions) {
    this.netExclude = new Set(options.netExclude ?? ["lo"]);
  }

  sample(texts: ProcTexts, nowMs: number): HostSample {
    const out: HostSample = { events: [], problems: [], counterResets: 0 };
    const emit = (metric: HostMetric, value: number) => {
      if (!Number.isFinite(value)) return;
      out.events.push({
        ts: nowMs,
        source: this.options.source,
        metric,
        value: Math.round(value * 1e6) / 1e6,
        tags: { ...this.options.tags },
      });
    };
    const part = (name: ProcPart, take: (text: string) => void) => {
      const text = texts[name];
      if (text === undefined) return;
      try {
        take(text);
      } catch (err) {
        out.problems.push({ part: name, message: (err as Error).message });
      }
    };
    part("stat", (text) => {
      const cur = parseCpuStat(text);
      emit("procs.running", cur.procsRunning);
      emit("procs.blocked", cur.procsBlocked);
      const prev = this.cpu;
      this.cpu = { atMs: nowMs, value: cur };
      if (!prev || nowMs <= prev.atMs) return;
      const total = counterDelta(prev.value.total, cur.total);
      const idle = counterDelta(prev.value.idle, cur.idle);
      const iowait = counterDelta(prev.value.iowait, cur.iowait);
      const forks = counterDelta(prev.value.forks, cur.forks);
      if (total === null || idle === null || iowait === null) out.counterResets++;
      else if (total > 0) {
        emit("cpu.busy_ratio", clamp01(1 - idle / total));
        emit("cpu.iowait_ratio", clamp01(iowait / total));
      }
      if (forks === null) out.counterResets++;
      else emit("procs.forks_per_s", forks / ((nowMs - prev.atMs) / 1000));
    });
    part("meminfo", (text) => {
      const mem = parseMeminfo(text);
      emit("mem.used_ratio", clamp01(1 - mem.availableBytes / mem.totalBytes));
      if (mem.swapTotalBytes > 0)
        emit("mem.swap_used_ratio", clamp01(1 - mem.swapFreeBytes / mem.swapTotalBytes));
    });
    part("loadavg", (text) => {
      const load = parseLoadavg(text);
      emit("load.avg_1m", load.load1);
      emit("procs.threads", load.threads);
    });
    part("diskstats", (text) => {
      const cur = new Map(wholeDisks(parseDiskstats(text)).map((d) => [d.device, d]));
      const prev = this.disks;
      this.disks = { atMs: nowMs, value: cur };
      if (!prev || nowMs <= prev.atMs) return;
      const seconds = (nowMs - prev.atMs) / 1000;
      const read = sumDeltas(prev.value, cur, (d) => d.sectorsRead);
      const written = sumDeltas(prev.value, cur, (d) => d.sectorsWritten);
      out.counterResets += read.resets + written.resets;
      if (read.devices > 0) emit("disk.read_bytes_per_s", (read.delta * 512) / seconds);
      if (written.devices > 0) emit("disk.write_bytes_per_s", (written.delta * 512) / seconds);
      let busiest: number | undefined;
      for (const [name, d] of cur) {
        const before = prev.value.get(name);
        if (!before) continue;
        const ticks = counterDelta(before.ioTicksMs, d.ioTicksMs);
        if (ticks === null) out.counterResets++;
        else busiest = Math.max(busiest ?? 0, ticks / (nowMs - prev.atMs));
      }
      if (busiest !== undefined) emit("disk.busy_ratio", clamp01(busiest));
    });
    part("netDev", (text) => {
      const cur = new Map(
        parseNetDev(text)
          .filter((n) => !this.netExclude.has(n.iface))
          .map((n) => [n.iface, n]),
      );
      const prev = this.net;
      this.net = { atMs: nowMs, value: cur };
      if (!prev || nowMs <= prev.atMs) return;
      const seconds = (nowMs - prev.atMs) / 1000;
      const rx = sumDeltas(prev.value, cur, (n) => n.rxBytes);
      const tx = sumDeltas(prev.value, cur, (n) => n.txBytes);
      out.counterResets += rx.resets + tx.resets;
      if (rx.devices > 0) emit("net.rx_bytes_per_s", rx.delta / seconds);
      if (tx.devices > 0) emit("net.tx_bytes_per_s", tx.delta / seconds);
    });
    return out;
  }
}

/** Reads the /proc files under `procRoot`; a file that cannot be read is a problem, not a failure. */
export async function readProcTexts(
  procRoot: string,
): Promise<{ texts: ProcTexts; problems: SampleProblem[] }> {
  const texts: ProcTexts = {};
  const problems: SampleProblem[] = [];
  await Promise.all(
    (Object.keys(FILES) as ProcPart[]).map(async (part) => {
      const path = join(procRoot, FILES[part]);
      try {
        texts[part] = await readFile(path, "utf8");
      } catch (err) {
        problems.push({
          part,
          message: `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        });
      }
    }),
  );
  return { texts, problems };
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
