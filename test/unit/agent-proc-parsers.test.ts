import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { counterDelta, sumDeltas } from "../../cli/agent/counter-delta.js";
import { HostSampler, type ProcTexts } from "../../cli/agent/host-sampler.js";
import {
  type DiskCounters,
  ProcParseError,
  parseCpuStat,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  wholeDisks,
} from "../../cli/agent/proc-parsers.js";

/**
 * Real /proc text captured on the development VM (kernel 6.18, 2 CPUs, one virtio disk vda), in
 * `a/` and then `b/` after writing 64 MiB with fsync (`dd ... conv=fsync`) in between.
 */
const FIXTURES = join(import.meta.dirname, "../fixtures/proc");
const read = (which: "a" | "b"): Required<ProcTexts> => {
  const file = (name: string) => readFileSync(join(FIXTURES, which, name), "utf8");
  return {
    stat: file("stat"),
    meminfo: file("meminfo"),
    diskstats: file("diskstats"),
    netDev: file("net_dev"),
    loadavg: file("loadavg"),
  };
};
const a = read("a");
const b = read("b");

describe("/proc parsers on captured text", () => {
  it("/proc/stat: the aggregate cpu line and the process counters", () => {
    expect(parseCpuStat(a.stat)).toEqual({
      // cpu  862671 29184 201999 3381139 3594 0 4577 6019 0 0
      total: 862671 + 29184 + 201999 + 3381139 + 3594 + 0 + 4577 + 6019,
      idle: 3381139 + 3594,
      iowait: 3594,
      steal: 6019,
      forks: 121300,
      procsRunning: 5,
      procsBlocked: 0,
    });
  });

  it("/proc/meminfo: kB are KiB", () => {
    const mem = parseMeminfo(a.meminfo);
    expect(mem.totalBytes).toBe(24683656 * 1024);
    expect(mem.availableBytes).toBe(23238164 * 1024);
    expect(mem.swapTotalBytes).toBe(0);
  });

  it("/proc/meminfo without MemAvailable (kernels before 3.14): free + buffers + cached", () => {
    const old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n";
    expect(parseMeminfo(old).availableBytes).toBe(420 * 1024);
  });

  it("/proc/diskstats: every device, then only whole physical disks", () => {
    const all = parseDiskstats(a.diskstats);
    expect(all.map((d) => d.device)).toEqual([
      "loop0",
      "loop1",
      "loop2",
      "loop3",
      "loop4",
      "loop5",
      "loop6",
      "loop7",
      "vda",
      "zram0",
    ]);
    const [vda] = wholeDisks(all);
    // 254 0 vda 227432 27035 12629434 154539 383805 237852 37024992 746883 0 153740 ...
    expect(vda).toEqual({
      device: "vda",
      readsCompleted: 227432,
      sectorsRead: 12629434,
      writesCompleted: 383805,
      sectorsWritten: 37024992,
      ioTicksMs: 153740,
    });
    expect(wholeDisks(all)).toHaveLength(1);
  });

  it("whole disks leave out partitions, device-mapper and md devices (their I/O is on the disks)", () => {
    const disk = (device: string): DiskCounters => ({
      device,
      readsCompleted: 0,
      sectorsRead: 0,
      writesCompleted: 0,
      sectorsWritten: 0,
      ioTicksMs: 0,
    });
    const names = [
      "sda",
      "sda1",
      "sda2",
      "nvme0n1",
      "nvme0n1p1",
      "mmcblk0",
      "mmcblk0p1",
      "dm-0",
      "md0",
      "sdb",
    ];
    expect(wholeDisks(names.map(disk)).map((d) => d.device)).toEqual(["sda", "nvme0n1", "mmcblk0", "sdb"]);
  });

  it("/proc/net/dev: per interface, headers skipped", () => {
    const eth0 = parseNetDev(a.netDev).find((n) => n.iface === "eth0");
    expect(parseNetDev(a.netDev).map((n) => n.iface)).toEqual(["lo", "ifb0", "ifb1", "eth0"]);
    expect(eth0?.rxBytes).toBeGreaterThan(0);
    expect(eth0?.txBytes).toBeGreaterThan(0);
  });

  it("/proc/loadavg", () => {
    expect(parseLoadavg(a.loadavg)).toEqual({ load1: 2.35, load5: 1.85, load15: 1.27, threads: 239 });
  });

  it("text that is not the file it should be is a ProcParseError naming the file", () => {
    expect(() => parseCpuStat("hello")).toThrow(ProcParseError);
    expect(() => parseCpuStat("cpu 1 2 3 4\n")).toThrow(/\/proc\/stat: no numeric "processes"/);
    expect(() => parseMeminfo("MemFree: 1 kB\n")).toThrow(/\/proc\/meminfo: no numeric "MemTotal"/);
    expect(() => parseDiskstats("8 0 sda 1 2 3\n")).toThrow(/\/proc\/diskstats: line 1/);
    expect(() => parseNetDev("eth0: 1 2 x\n")).toThrow(/\/proc\/net\/dev: line 1 \(eth0\)/);
    expect(() => parseLoadavg("")).toThrow(/\/proc\/loadavg/);
  });
});

describe("counter deltas", () => {
  it("growth, 32-bit wraparound and resets", () => {
    expect(counterDelta(100, 250)).toBe(150);
    expect(counterDelta(7, 7)).toBe(0);
    // A 32-bit counter wrapped: 2^32 - 4294967000 + 500 = 796.
    expect(counterDelta(4_294_967_000, 500)).toBe(796);
    // Still a wrap when less than half the 32-bit range went by: 2^32 - 3e9 + 1000.
    expect(counterDelta(3_000_000_000, 1_000)).toBe(1_294_968_296);
    // A wrap would mean more than half the range in one interval: a reset; the growth is unknown.
    expect(counterDelta(1_000_000, 10)).toBeNull();
    // 64-bit counters beyond 2^32 that go backwards: a reset.
    expect(counterDelta(2 ** 40, 2 ** 33)).toBeNull();
  });

  it("sums over devices present in both reads; a reset device is counted, not summed", () => {
    const prev = new Map([
      ["sda", 100],
      ["sdb", 5_000],
      ["gone", 9],
    ]);
    const cur = new Map([
      ["sda", 300],
      ["sdb", 10],
      ["new", 1_000_000],
    ]);
    expect(sumDeltas(prev, cur, (n) => n)).toEqual({ delta: 200, devices: 1, resets: 1 });
  });
});

describe("HostSampler on the captured samples", () => {
  const source = "vm";
  const tA = Date.UTC(2026, 10, 23, 13, 23, 0);
  const tB = tA + 2_000;

  it("the first sample has only gauges; the second adds rates over the 2 s between them", () => {
    const sampler = new HostSampler({ source, tags: { rack: "r1" } });
    const first = sampler.sample(a, tA);
    expect(first.problems).toEqual([]);
    expect(first.events.map((e) => e.metric).sort()).toEqual(
      ["load.avg_1m", "mem.used_ratio", "procs.blocked", "procs.running", "procs.threads"].sort(),
    );
    const second = sampler.sample(b, tB);
    const value = (metric: string) => second.events.find((e) => e.metric === metric)?.value;
    expect(second.problems).toEqual([]);
    expect(second.counterResets).toBe(0);
    // vda: 37156144 - 37024992 = 131152 sectors of 512 bytes written in 2 s (the 64 MiB dd).
    expect(value("disk.write_bytes_per_s")).toBeCloseTo((131152 * 512) / 2, 3);
    expect(value("disk.read_bytes_per_s")).toBeCloseTo(((12629610 - 12629434) * 512) / 2, 3);
    expect(value("disk.busy_ratio")).toBeCloseTo((153868 - 153740) / 2000, 6);
    expect(value("cpu.busy_ratio")).toBeGreaterThan(0);
    expect(value("cpu.busy_ratio")).toBeLessThanOrEqual(1);
    expect(value("mem.used_ratio")).toBeCloseTo(
      1 - parseMeminfo(b.meminfo).availableBytes / (24683656 * 1024),
      5,
    );
    expect(value("procs.threads")).toBe(239);
    for (const e of second.events) {
      expect(e).toMatchObject({ ts: tB, source, tags: { rack: "r1" } });
      expect(Number.isFinite(e.value)).toBe(true);
    }
    // lo is left out by default: the net rates are eth0's (and the idle ifb devices').
    const eth = (t: Required<ProcTexts>) => parseNetDev(t.netDev).find((n) => n.iface === "eth0")!;
    expect(value("net.rx_bytes_per_s")).toBeCloseTo((eth(b).rxBytes - eth(a).rxBytes) / 2, 3);
  });

  it("a disk counter that went backwards (device re-attached) gives no rate and counts a reset", () => {
    const sampler = new HostSampler({ source });
    sampler.sample(b, tA);
    const later = sampler.sample(a, tB); // every counter of `a` is below `b`'s: as after a reset
    expect(later.events.find((e) => e.metric === "disk.write_bytes_per_s")).toBeUndefined();
    expect(later.events.find((e) => e.metric === "cpu.busy_ratio")).toBeUndefined();
    expect(later.counterResets).toBeGreaterThan(0);
    // Gauges do not depend on counters and still come out.
    expect(later.events.find((e) => e.metric === "mem.used_ratio")).toBeDefined();
  });

  it("a 32-bit net counter that wrapped between samples gives the true rate", () => {
    const dev = (rx: number) =>
      `Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n  eth0: ${rx} 0 0 0 0 0 0 0 10 0 0 0 0 0 0 0\n`;
    const sampler = new HostSampler({ source });
    sampler.sample({ netDev: dev(4_294_966_296) }, tA);
    const wrapped = sampler.sample({ netDev: dev(1_000) }, tB);
    expect(wrapped.events.find((e) => e.metric === "net.rx_bytes_per_s")?.value).toBe(2_000 / 2);
    expect(wrapped.counterResets).toBe(0);
  });

  it("a malformed part is reported and skipped; the other parts still yield their metrics", () => {
    const sampler = new HostSampler({ source });
    const out = sampler.sample({ ...a, diskstats: "garbage\n", loadavg: "1 2\n" }, tA);
    expect(out.problems.map((p) => p.part).sort()).toEqual(["diskstats", "loadavg"]);
    expect(out.events.some((e) => e.metric === "mem.used_ratio")).toBe(true);
    expect(out.events.some((e) => e.metric === "load.avg_1m")).toBe(false);
  });
});
