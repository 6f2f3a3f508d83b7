import type { LogEvent, LogLevel } from "../../schemas/index.js";
import { type Random, seededRandom } from "../../streams/index.js";

/** One kind of line the generator writes; `id` is its ground-truth label. */
export interface LogLineKind {
  id: string;
  level: LogLevel;
  /** Relative frequency among a source's usual lines. */
  weight: number;
  render(r: Random): string;
}

/**
 * A window in which some sources also log extra lines of one kind: a kind they never logged before
 * (one of ERROR_LINE_KINDS), or a burst of a usual one.
 */
export interface LogIncident {
  name: string;
  sources: string[];
  /** Id of the kind of the extra lines (ERROR_LINE_KINDS or USUAL_LINE_KINDS). */
  kind: string;
  startMs: number;
  endMs: number;
  /** Extra lines of that kind per second per source inside the window. */
  ratePerSec: number;
}

export interface LogGeneratorOptions {
  /** Event time of the first line. Default 2026-01-01T00:00:00Z. */
  startMs?: number;
  /** Default 1 hour. */
  durationMs?: number;
  /** Source names. Default app-1 .. app-3. */
  sources?: string[];
  /** Mean usual lines per second per source (Poisson arrivals). Default 2. */
  linesPerSec?: number;
  incidents?: LogIncident[];
  seed?: number;
}

/** A generated line with the kind it was made from. */
export interface LabelledLine {
  event: LogEvent;
  label: string;
}

/** The item whose share of the cumulative weight holds `x` (x in [0, total weight)). */
function weighted<T>(items: readonly T[], weightOf: (item: T) => number, x: number): T {
  let rest = x;
  for (const item of items) {
    rest -= weightOf(item);
    if (rest < 0) return item;
  }
  return items[items.length - 1]!;
}

const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;
const int = (r: Random, lo: number, hi: number) => lo + Math.floor(r.next() * (hi - lo + 1));
const ip = (r: Random) => `10.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;
const hex = (r: Random, n: number) =>
  Array.from({ length: n }, () => "0123456789abcdef"[int(r, 0, 15)]).join("");
const uuid = (r: Random) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;

/**
 * Usual lines of a service: variables in numbers, addresses, ids and paths (which the miner masks)
 * and in plain words (user names, tables, cache outcomes), which only Drain's merging generalises.
 */
export const USUAL_LINE_KINDS: readonly LogLineKind[] = [
  {
    id: "conn",
    level: "INFO",
    weight: 6,
    render: (r) => `Accepted connection from ${ip(r)}:${int(r, 1024, 65535)}`,
  },
  {
    id: "login",
    level: "INFO",
    weight: 3,
    render: (r) =>
      `User ${pick(r, ["alice", "bob", "carol", "dave", "erin", "mallory"])} logged in from ${ip(r)}`,
  },
  {
    id: "http",
    level: "INFO",
    weight: 8,
    render: (r) =>
      `GET /api/v1/${pick(r, ["items", "orders", "users"])}/${int(r, 1, 99999)} returned ${pick(r, [200, 200, 200, 304, 404])} in ${int(r, 1, 900)}ms`,
  },
  {
    id: "cache",
    level: "DEBUG",
    weight: 5,
    render: (r) => `Cache ${pick(r, ["hit", "miss"])} for key ${hex(r, 16)}`,
  },
  {
    id: "job",
    level: "INFO",
    weight: 2,
    render: (r) => `Worker ${int(r, 1, 16)} finished job ${uuid(r)} in ${(r.next() * 30).toFixed(2)}s`,
  },
  {
    id: "slow-query",
    level: "WARN",
    weight: 1,
    render: (r) =>
      `Slow query on table ${pick(r, ["orders", "users", "items", "payments"])} took ${int(r, 500, 5000)} ms`,
  },
  {
    id: "heartbeat",
    level: "INFO",
    weight: 4,
    render: (r) => `Heartbeat from node-${int(r, 1, 40)} status ok`,
  },
  {
    id: "flush",
    level: "INFO",
    weight: 2,
    render: (r) =>
      `Flushed ${int(r, 1, 100000)} rows to /var/lib/db/${pick(r, ["main", "wal", "idx"])}-${int(r, 1, 9)}.dat`,
  },
];

/** Lines that appear only in incidents. */
export const ERROR_LINE_KINDS: readonly LogLineKind[] = [
  {
    id: "disk-error",
    level: "ERROR",
    weight: 1,
    render: (r) => `Disk ${pick(r, ["sda", "sdb", "nvme0n1"])} failed: I/O error at sector ${int(r, 0, 1e9)}`,
  },
  {
    id: "db-refused",
    level: "ERROR",
    weight: 1,
    render: (r) =>
      `Connection to database db-${int(r, 1, 4)}.internal refused after ${int(r, 1, 10)} retries`,
  },
];

function kindOf(id: string): LogLineKind | undefined {
  return ERROR_LINE_KINDS.find((k) => k.id === id) ?? USUAL_LINE_KINDS.find((k) => k.id === id);
}

/**
 * Labelled service logs: each source writes the usual kinds of line at Poisson times with fixed
 * weights, plus, inside an incident's window, lines of a kind it never wrote before. Lines come out
 * in event-time order; deterministic for a seed.
 */
export class LogGenerator {
  readonly startMs: number;
  readonly endMs: number;
  readonly sources: readonly string[];
  readonly incidents: readonly LogIncident[];
  private readonly linesPerSec: number;
  private readonly seed: number;

  constructor(options: LogGeneratorOptions = {}) {
    this.startMs = options.startMs ?? Date.UTC(2026, 0, 1);
    this.endMs = this.startMs + (options.durationMs ?? 3_600_000);
    this.sources = options.sources ?? ["app-1", "app-2", "app-3"];
    this.linesPerSec = options.linesPerSec ?? 2;
    this.incidents = options.incidents ?? [];
    this.seed = options.seed ?? 11;
    for (const i of this.incidents) {
      if (kindOf(i.kind) === undefined) {
        throw new RangeError(`LogGenerator: incident ${i.name} names unknown kind ${i.kind}`);
      }
    }
  }

  /** Every line in event-time order (ties: source order). */
  *lines(): Generator<LabelledLine> {
    const r = seededRandom(this.seed);
    const totalWeight = USUAL_LINE_KINDS.reduce((s, k) => s + k.weight, 0);
    const streams = this.sources.map((source) => ({ source, next: this.startMs }));
    const gap = (rate: number) => Math.max(1, Math.round((-Math.log(1 - r.next()) / rate) * 1000));
    for (const s of streams) s.next += gap(this.linesPerSec);
    for (;;) {
      let s = streams[0];
      for (const candidate of streams) if (s === undefined || candidate.next < s.next) s = candidate;
      if (s === undefined || s.next >= this.endMs) return;
      const t = s.next;
      const active = this.incidents.filter(
        (i) => i.sources.includes(s.source) && t >= i.startMs && t < i.endMs,
      );
      const incidentRate = active.reduce((sum, i) => sum + i.ratePerSec, 0);
      const rate = this.linesPerSec + incidentRate;
      let kind: LogLineKind;
      if (r.next() * rate < incidentRate) {
        const incident = weighted(active, (i) => i.ratePerSec, r.next() * incidentRate);
        kind = kindOf(incident.kind)!;
      } else {
        kind = weighted(USUAL_LINE_KINDS, (k) => k.weight, r.next() * totalWeight);
      }
      yield {
        event: { ts: t, source: s.source, level: kind.level, message: kind.render(r), fields: {} },
        label: kind.id,
      };
      s.next = t + gap(rate);
    }
  }
}
