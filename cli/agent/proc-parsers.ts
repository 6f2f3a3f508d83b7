/**
 * Parsers of the Linux /proc files the host agent reads. Each takes the file's text and returns
 * plain numbers; counters are returned as read (cumulative since boot), deltas are the sampler's
 * business. Formats: proc(5) and the kernel's Documentation/admin-guide/iostats.rst.
 */

/** Thrown for text that is not the file it should be; the agent counts it and skips that part. */
export class ProcParseError extends Error {
  override readonly name = "ProcParseError";
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** The aggregate `cpu` line of /proc/stat (jiffies) plus the process counters of that file. */
export interface CpuStat {
  /** All jiffies: user + nice + system + idle + iowait + irq + softirq + steal (guest time is inside user). */
  total: number;
  /** idle + iowait: time the CPUs had nothing to run. */
  idle: number;
  iowait: number;
  steal: number;
  /** Processes (threads) created since boot (`processes`). */
  forks: number;
  /** Runnable right now (`procs_running`). */
  procsRunning: number;
  /** Blocked waiting for I/O right now (`procs_blocked`). */
  procsBlocked: number;
}

export function parseCpuStat(text: string): CpuStat {
  let cpu: number[] | undefined;
  const named = new Map<string, number>();
  for (const line of text.split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] === "cpu") cpu = parts.slice(1).map(Number);
    else if (parts.length === 2 && parts[0]) named.set(parts[0], Number(parts[1]));
  }
  if (!cpu || cpu.length < 4 || cpu.some((n) => !Number.isFinite(n))) {
    throw new ProcParseError("/proc/stat", 'no aggregate "cpu" line with at least 4 numeric fields');
  }
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu;
  return {
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    idle: idle + iowait,
    iowait,
    steal,
    forks: requireNamed(named, "processes", "/proc/stat"),
    procsRunning: requireNamed(named, "procs_running", "/proc/stat"),
    procsBlocked: requireNamed(named, "procs_blocked", "/proc/stat"),
  };
}

/** /proc/meminfo in bytes (the file says kB, which means KiB). */
export interface MemInfo {
  totalBytes: number;
  /** MemAvailable: what can be given to new work without swapping. */
  availableBytes: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
}

export function parseMeminfo(text: string): MemInfo {
  const kb = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) kb.set(m[1]!, Number(m[2]) * 1024);
  }
  const total = requireNamed(kb, "MemTotal", "/proc/meminfo");
  if (total <= 0) throw new ProcParseError("/proc/meminfo", "MemTotal is 0");
  return {
    totalBytes: total,
    // Kernels before 3.14 have no MemAvailable: free + buffers + page cache is the old estimate.
    availableBytes:
      kb.get("MemAvailable") ?? (kb.get("MemFree") ?? 0) + (kb.get("Buffers") ?? 0) + (kb.get("Cached") ?? 0),
    swapTotalBytes: kb.get("SwapTotal") ?? 0,
    swapFreeBytes: kb.get("SwapFree") ?? 0,
  };
}

/** One line of /proc/diskstats: cumulative counters of a block device. */
export interface DiskCounters {
  device: string;
  readsCompleted: number;
  /** 512-byte sectors, whatever the device's own sector size. */
  sectorsRead: number;
  writesCompleted: number;
  sectorsWritten: number;
  /** Milliseconds the device had I/O in flight (`io_ticks`): its busy time. */
  ioTicksMs: number;
}

export function parseDiskstats(text: string): DiskCounters[] {
  const out: DiskCounters[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    const parts = line.trim().split(/\s+/);
    if (parts.length === 1 && parts[0] === "") continue;
    // major minor name, then 11 fields (4.18+ adds 4 discard fields, 5.5+ 2 flush fields).
    if (parts.length < 14) {
      throw new ProcParseError(
        "/proc/diskstats",
        `line ${i + 1}: expected at least 14 fields, got ${parts.length}`,
      );
    }
    const n = parts.slice(3).map(Number);
    if (n.some((x) => !Number.isFinite(x))) {
      throw new ProcParseError("/proc/diskstats", `line ${i + 1}: non-numeric counter`);
    }
    out.push({
      device: parts[2]!,
      readsCompleted: n[0]!,
      sectorsRead: n[2]!,
      writesCompleted: n[4]!,
      sectorsWritten: n[6]!,
      ioTicksMs: n[9]!,
    });
  }
  return out;
}

const VIRTUAL_DISK = /^(loop|ram|zram|sr|fd|dm-|md|nbd)\d*/;

/**
 * The whole physical disks among the devices: not partitions (sda1, nvme0n1p2, mmcblk0p1, whose
 * parent is listed too), and not loop, ram, zram, optical, device-mapper or md devices, whose I/O
 * also shows on the disks below them. Summing these counts every byte once.
 */
export function wholeDisks(devices: readonly DiskCounters[]): DiskCounters[] {
  const names = new Set(devices.map((d) => d.device));
  const isPartition = (name: string) =>
    [...names].some(
      (parent) => parent !== name && name.startsWith(parent) && /^p?\d+$/.test(name.slice(parent.length)),
    );
  return devices.filter((d) => !VIRTUAL_DISK.test(d.device) && !isPartition(d.device));
}

/** One interface of /proc/net/dev: cumulative counters. */
export interface NetCounters {
  iface: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
}

export function parseNetDev(text: string): NetCounters[] {
  const out: NetCounters[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    const colon = line.indexOf(":");
    // The two header lines have "|" and no "iface:" prefix.
    if (colon < 0 || line.includes("|")) continue;
    const iface = line.slice(0, colon).trim();
    const n = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (n.length < 16 || n.some((x) => !Number.isFinite(x))) {
      throw new ProcParseError("/proc/net/dev", `line ${i + 1} (${iface}): expected 16 numeric counters`);
    }
    out.push({
      iface,
      rxBytes: n[0]!,
      rxPackets: n[1]!,
      rxErrors: n[2]!,
      txBytes: n[8]!,
      txPackets: n[9]!,
      txErrors: n[10]!,
    });
  }
  return out;
}

/** /proc/loadavg: load averages and the scheduling entities (threads) that exist. */
export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
  /** Threads that exist (the number after the "/"). */
  threads: number;
}

export function parseLoadavg(text: string): LoadAvg {
  const m = /^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+\d+\/(\d+)\s+\d+\s*$/.exec(text);
  if (!m) throw new ProcParseError("/proc/loadavg", `unexpected text "${text.trim().slice(0, 80)}"`);
  return { load1: Number(m[1]), load5: Number(m[2]), load15: Number(m[3]), threads: Number(m[4]) };
}

function requireNamed(values: Map<string, number>, name: string, file: string): number {
  const v = values.get(name);
  if (v === undefined || !Number.isFinite(v)) throw new ProcParseError(file, `no numeric "${name}"`);
  return v;
}
