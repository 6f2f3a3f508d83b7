import { WorkerLabels } from "./dispatcher-metrics.js";
import { WorkerRoster } from "./worker-roster.js";

/**
 * What the partitions of one tier's dispatcher share in a process: one roster (so a worker joins
 * or drops once, not once per partition), the bounded metric labels, and each partition's count
 * of unanswered assignments per worker, so load is balanced over all of them.
 */
export class TierBoard {
  readonly roster: WorkerRoster;
  readonly labels: WorkerLabels;
  private readonly loads = new Set<ReadonlyMap<string, ReadonlySet<string>>>();

  constructor(tier: string, missedHeartbeats: number, maxWorkerLabels: number) {
    this.roster = new WorkerRoster(tier, missedHeartbeats);
    this.labels = new WorkerLabels(maxWorkerLabels);
  }

  /** Adds a partition's assignments (worker id → request ids); it stays live, so later changes count. */
  register(assignments: ReadonlyMap<string, ReadonlySet<string>>): void {
    this.loads.add(assignments);
  }

  unregister(assignments: ReadonlyMap<string, ReadonlySet<string>>): void {
    this.loads.delete(assignments);
  }

  get isEmpty(): boolean {
    return this.loads.size === 0;
  }

  /** Unanswered assignments of a worker over every partition. */
  load(workerId: string): number {
    let n = 0;
    for (const assignments of this.loads) n += assignments.get(workerId)?.size ?? 0;
    return n;
  }

  /** Worker ids with unanswered assignments in any partition. */
  busyWorkers(): Set<string> {
    const ids = new Set<string>();
    for (const assignments of this.loads) for (const [id, set] of assignments) if (set.size > 0) ids.add(id);
    return ids;
  }
}

/** Boards by tier, created with the first partition of a tier and dropped with its last. */
export class TierBoards {
  private readonly boards = new Map<string, TierBoard>();

  acquire(
    tier: string,
    missedHeartbeats: number,
    maxWorkerLabels: number,
    assignments: ReadonlyMap<string, ReadonlySet<string>>,
  ): TierBoard {
    let board = this.boards.get(tier);
    if (!board) {
      board = new TierBoard(tier, missedHeartbeats, maxWorkerLabels);
      this.boards.set(tier, board);
    }
    board.register(assignments);
    return board;
  }

  release(tier: string, assignments: ReadonlyMap<string, ReadonlySet<string>>): void {
    const board = this.boards.get(tier);
    if (!board) return;
    board.unregister(assignments);
    if (board.isEmpty) this.boards.delete(tier);
  }
}
