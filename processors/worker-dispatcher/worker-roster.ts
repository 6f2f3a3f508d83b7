import type { WorkerHeartbeat } from "../../schemas/index.js";

/** One worker as the dispatcher sees it. */
export interface WorkerView {
  readonly id: string;
  /** The newest heartbeat. */
  readonly heartbeat: WorkerHeartbeat;
  /** When the dispatcher last saw a new heartbeat from it, on the dispatcher's clock. */
  readonly lastSeenMs: number;
  readonly isLive: boolean;
}

interface Entry {
  heartbeat: WorkerHeartbeat;
  lastSeenMs: number;
  isLive: boolean;
}

export interface RosterChange {
  /** Workers that just went live (first seen, or back after being dropped). */
  joined: string[];
  /** Workers just dropped: missed heartbeats, said LEAVING, or left the table. */
  dropped: string[];
}

/**
 * The live workers of one tier, from the heartbeats table. A worker is live while its heartbeats
 * keep changing: it is dropped once `missedHeartbeats` of its intervals pass on the dispatcher's
 * clock without a new one (seq or ts changed), when it says LEAVING, or when its key leaves the
 * table. A dropped worker that sends a new heartbeat is live again. Ages are measured on the
 * dispatcher's clock from when a heartbeat was first seen, so worker clocks need not agree with it;
 * only a heartbeat already in the table when the roster starts is aged from its own `ts` (capped at
 * now), so that a worker dead before the dispatcher started is not taken for live.
 */
export class WorkerRoster {
  private readonly workers = new Map<string, Entry>();

  constructor(
    private readonly tier: string,
    private readonly missedHeartbeats: number,
  ) {}

  /** Updates the roster from the table's current content at `nowMs`. */
  observe(table: ReadonlyMap<string, WorkerHeartbeat>, nowMs: number): RosterChange {
    const change: RosterChange = { joined: [], dropped: [] };
    for (const [id, heartbeat] of table) {
      if (heartbeat.tier !== this.tier) continue;
      const known = this.workers.get(id);
      const isNew =
        known === undefined || known.heartbeat.seq !== heartbeat.seq || known.heartbeat.ts !== heartbeat.ts;
      const entry: Entry = known ?? { heartbeat, lastSeenMs: Math.min(nowMs, heartbeat.ts), isLive: false };
      if (known !== undefined && isNew) entry.lastSeenMs = nowMs;
      entry.heartbeat = heartbeat;
      this.workers.set(id, entry);
      const shouldLive =
        heartbeat.status === "ONLINE" && nowMs - entry.lastSeenMs <= this.expiryMs(heartbeat);
      if (shouldLive && !entry.isLive) {
        entry.isLive = true;
        change.joined.push(id);
      } else if (!shouldLive && entry.isLive) {
        entry.isLive = false;
        change.dropped.push(id);
      }
    }
    for (const [id, entry] of this.workers) {
      if (table.get(id)?.tier === this.tier) continue;
      this.workers.delete(id);
      if (entry.isLive) change.dropped.push(id);
    }
    return change;
  }

  /** Live workers, by id. */
  live(): WorkerView[] {
    return this.all().filter((w) => w.isLive);
  }

  /** Every worker of the tier in the table, live or dropped, by id. */
  all(): WorkerView[] {
    return [...this.workers.entries()]
      .map(([id, e]) => ({ id, heartbeat: e.heartbeat, lastSeenMs: e.lastSeenMs, isLive: e.isLive }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  isLive(id: string): boolean {
    return this.workers.get(id)?.isLive === true;
  }

  /** Milliseconds since the worker's newest heartbeat was seen; undefined for an unknown worker. */
  ageMs(id: string, nowMs: number): number | undefined {
    const entry = this.workers.get(id);
    return entry === undefined ? undefined : Math.max(0, nowMs - entry.lastSeenMs);
  }

  private expiryMs(heartbeat: WorkerHeartbeat): number {
    return this.missedHeartbeats * Math.max(1, heartbeat.intervalMs);
  }
}
