import {
  type DispatchEvent,
  type ReasoningRequest,
  type ReasoningResult,
  recordTypes,
  type WorkerHeartbeat,
} from "../../schemas/index.js";
import {
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type ProcessorSpec,
  type Rec,
  SpikemeshError,
} from "../../streams/index.js";
import {
  canRun,
  capabilitiesOf,
  describeRequirements,
  type JobRequirements,
  requirementsOf,
  unmetRequirements,
} from "./capabilities.js";
import {
  type DispatcherMetrics,
  type DispatchFailure,
  dispatcherMetrics,
  initDispatcherSeries,
} from "./dispatcher-metrics.js";
import { type WorkerDispatcherOptions, workerDispatcherOptionsSchema } from "./options.js";
import { type TierBoard, TierBoards } from "./tier-board.js";
import type { WorkerView } from "./worker-roster.js";

export type WorkerDispatcherOutputs = {
  /** Requests addressed to one worker: key `<workerId>#<slot>`, header `spikemesh.worker`. */
  assignments: ReasoningRequest;
  /** Error results for requests no live worker could run. */
  results: ReasoningResult;
};

type Ctx = ProcessorContext<WorkerDispatcherOutputs>;

/** Header of an assignment naming the worker it is for. */
export const WORKER_HEADER = "spikemesh.worker";

/** The `model` of results the dispatcher writes itself. */
export const DISPATCHER_MODEL = "dispatcher";

/** A request the dispatcher has taken and no worker has answered yet (the `pending` store's values). */
export interface PendingRequest {
  request: ReasoningRequest;
  requires: JobRequirements;
  /** Worker it is assigned to; null while it waits for one. */
  workerId: string | null;
  /** When it reached the dispatcher (dispatcher clock). */
  arrivedMs: number;
  /** Since when it has waited for a capable live worker; null while assigned. */
  waitingSinceMs: number | null;
  /** Assignments so far. */
  attempts: number;
  /** Workers it was assigned to that were dropped before answering. */
  lostWorkers: string[];
}

/**
 * Assigns a tier's requests to the live workers that can run them. Its input is the tier's dispatch
 * topic, keyed by request id: REQUEST events (from `escalations.<tier>`, through dispatchIntake) and
 * ANSWERED events (from the workers, as they produce a result), so a request and its answer meet in
 * one partition and its `pending` store. Workers come from the `heartbeats` table: a request goes to
 * the least loaded live worker of the tier whose capabilities meet the request's `requires` (ties:
 * the smaller model, then the id). When a worker is dropped (missed heartbeats, LEAVING), its
 * unanswered requests are assigned again; a request no live worker can run waits up to
 * `waitForWorkerMs` (or its deadline) and is then answered with an error result saying why, as is
 * one whose workers were lost `maxAttempts` times. At-least-once: a worker dropped while it was
 * still answering may answer a request its successor answers too (same id).
 */
class WorkerDispatcher implements Processor<DispatchEvent, WorkerDispatcherOutputs> {
  private metrics!: DispatcherMetrics;
  private board!: TierBoard;
  private pending!: KeyValueStore<PendingRequest>;
  /** Worker id → ids of requests assigned to it in this partition (shared with the board). */
  private readonly assigned = new Map<string, Set<string>>();
  /** Ids of requests waiting for a worker in this partition. */
  private readonly waiting = new Set<string>();
  private readonly slots = new Map<string, number>();
  private cancelTick: (() => void) | undefined;

  constructor(
    private readonly opts: WorkerDispatcherOptions,
    private readonly boards: TierBoards,
  ) {}

  init(ctx: Ctx): void {
    this.metrics = dispatcherMetrics(ctx.metrics);
    initDispatcherSeries(this.metrics, this.opts.tier);
    this.pending = ctx.store<PendingRequest>("pending");
    for (const [id, entry] of this.pending.entries()) this.index(id, entry);
    const { tier, missedHeartbeats, maxWorkerLabels } = this.opts;
    this.board = this.boards.acquire(tier, missedHeartbeats, maxWorkerLabels, this.assigned);
    this.cancelTick = ctx.schedule(this.opts.tickMs, "wall", (nowMs) => this.tick(ctx, nowMs));
  }

  process(rec: Rec<DispatchEvent>, ctx: Ctx): void {
    const event = rec.value;
    const nowMs = ctx.clock.nowMs();
    this.observe(ctx, nowMs);
    if (event.kind === "ANSWERED") {
      this.answered(event);
      return;
    }
    const request = event.request;
    if (request === null) {
      throw new SpikemeshError("RECORD_INVALID", `REQUEST ${event.requestId} carries no request`);
    }
    if (request.tier !== this.opts.tier) {
      throw new SpikemeshError(
        "RECORD_INVALID",
        `request ${request.id} is for tier ${request.tier}, not this dispatcher's tier ${this.opts.tier}`,
      );
    }
    if (this.pending.get(request.id) !== undefined) return; // redelivered: already taken
    const parsed = requirementsOf(request.context);
    if (!parsed.ok) {
      throw new SpikemeshError("RECORD_INVALID", `request ${request.id}: ${parsed.reason}`);
    }
    const entry: PendingRequest = {
      request,
      requires: parsed.requires,
      workerId: null,
      arrivedMs: nowMs,
      waitingSinceMs: nowMs,
      attempts: 0,
      lostWorkers: [],
    };
    this.place(ctx, entry, nowMs);
  }

  close(): void {
    this.cancelTick?.();
    this.boards.release(this.opts.tier, this.assigned);
  }

  /** Heartbeats → roster; the unanswered requests of workers that are not live go elsewhere. */
  private observe(ctx: Ctx, nowMs: number): void {
    const change = this.board.roster.observe(ctx.table<WorkerHeartbeat>("heartbeats"), nowMs);
    for (const id of change.joined) {
      const hb = this.board.roster.all().find((w) => w.id === id)?.heartbeat;
      ctx.log.info(
        { tier: this.opts.tier, worker: id, model: hb?.model, gpu: hb?.gpu, memoryGb: hb?.memoryGb },
        "worker joined",
      );
    }
    for (const id of change.dropped) {
      ctx.log.warn(
        { tier: this.opts.tier, worker: id, heartbeatAgeMs: this.board.roster.ageMs(id, nowMs) },
        "worker dropped (missed heartbeats, left, or said it is leaving)",
      );
    }
    for (const [workerId, ids] of this.assigned) {
      if (ids.size === 0 || this.board.roster.isLive(workerId)) continue;
      const label = this.board.labels.of(workerId);
      ctx.log.warn(
        { tier: this.opts.tier, worker: workerId, requests: ids.size },
        "reassigning the unanswered requests of a dropped worker",
      );
      for (const id of [...ids]) {
        const entry = this.pending.get(id);
        this.unindex(id);
        if (!entry) continue;
        this.metrics.reassigned.inc({ tier: this.opts.tier, worker: label });
        entry.lostWorkers.push(workerId);
        entry.workerId = null;
        entry.waitingSinceMs = nowMs;
        if (entry.attempts >= this.opts.maxAttempts) {
          this.fail(
            ctx,
            entry,
            "workers_lost",
            `lost its worker ${entry.attempts} time(s) (${entry.lostWorkers.join(", ")}); not assigned again`,
            nowMs,
          );
        } else {
          this.place(ctx, entry, nowMs);
        }
      }
    }
  }

  private answered(event: DispatchEvent): void {
    const tier = this.opts.tier;
    if (event.workerId !== "")
      this.metrics.answered.inc({ tier, worker: this.board.labels.of(event.workerId) });
    if (this.pending.get(event.requestId) === undefined) return;
    this.unindex(event.requestId);
    this.pending.delete(event.requestId);
  }

  /** Assigns the request to the best live worker, or keeps it waiting, or fails it when waiting is over. */
  private place(ctx: Ctx, entry: PendingRequest, nowMs: number): void {
    const worker = this.choose(entry.requires);
    if (worker) {
      this.assign(ctx, entry, worker, nowMs);
      return;
    }
    const waitingSince = entry.waitingSinceMs ?? nowMs;
    if (nowMs > entry.request.deadline) {
      this.fail(ctx, entry, "deadline", `${this.noWorker(entry)}; deadline passed while waiting`, nowMs);
    } else if (nowMs - waitingSince >= this.opts.waitForWorkerMs) {
      this.fail(
        ctx,
        entry,
        "no_capable_worker",
        `${this.noWorker(entry)} (waited ${nowMs - waitingSince} ms)`,
        nowMs,
      );
    } else {
      entry.waitingSinceMs = waitingSince;
      this.pending.put(entry.request.id, entry);
      this.index(entry.request.id, entry);
    }
  }

  private choose(requires: JobRequirements): WorkerView | undefined {
    let best: WorkerView | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const worker of this.board.roster.live()) {
      if (!canRun(capabilitiesOf(worker.heartbeat), requires)) continue;
      const hb = worker.heartbeat;
      const score = this.board.load(worker.id) / Math.max(1, hb.concurrency);
      const better =
        score < bestScore ||
        (score === bestScore &&
          best !== undefined &&
          (hb.paramsB < best.heartbeat.paramsB ||
            (hb.paramsB === best.heartbeat.paramsB && hb.memoryGb < best.heartbeat.memoryGb)));
      if (better) {
        best = worker;
        bestScore = score;
      }
    }
    return best;
  }

  private assign(ctx: Ctx, entry: PendingRequest, worker: WorkerView, nowMs: number): void {
    const slot = this.slots.get(worker.id) ?? 0;
    this.slots.set(worker.id, (slot + 1) % Math.max(1, worker.heartbeat.concurrency));
    entry.workerId = worker.id;
    entry.waitingSinceMs = null;
    entry.attempts += 1;
    this.pending.put(entry.request.id, entry);
    this.index(entry.request.id, entry);
    this.metrics.assigned.inc({ tier: this.opts.tier, worker: this.board.labels.of(worker.id) });
    ctx.forward("assignments", {
      key: `${worker.id}#${slot}`,
      value: entry.request,
      timestampMs: nowMs,
      headers: { [WORKER_HEADER]: worker.id },
    });
  }

  private fail(ctx: Ctx, entry: PendingRequest, reason: DispatchFailure, error: string, nowMs: number): void {
    const { request } = entry;
    this.unindex(request.id);
    this.pending.delete(request.id);
    this.metrics.failed.inc({ tier: this.opts.tier, reason });
    ctx.log.warn({ tier: this.opts.tier, requestId: request.id, reason }, "request not assigned");
    const result: ReasoningResult = {
      id: request.id,
      ts: nowMs,
      tier: this.opts.tier,
      route: request.route,
      source: request.source,
      model: DISPATCHER_MODEL,
      verdict: "UNKNOWN",
      confidence: 0,
      action: null,
      summary: "not answered: no worker could run it",
      latencyMs: Math.max(0, nowMs - entry.arrivedMs),
      tokens: 0,
      error: error.slice(0, this.opts.maxErrorChars),
    };
    ctx.forward("results", { key: request.source, value: result, timestampMs: nowMs, headers: {} });
  }

  /** "no live worker of tier T can run it (needs ...): w1: no GPU; w2: 16 GB < 20 GB". */
  private noWorker(entry: PendingRequest): string {
    const needs = describeRequirements(entry.requires);
    const live = this.board.roster.live();
    const head = `no live worker of tier ${this.opts.tier} can run it (needs ${needs})`;
    if (live.length === 0) return `${head}: no live workers`;
    const shown = live
      .slice(0, 5)
      .map((w) => `${w.id}: ${unmetRequirements(capabilitiesOf(w.heartbeat), entry.requires).join(", ")}`);
    return `${head}: ${shown.join("; ")}${live.length > 5 ? `; ${live.length - 5} more` : ""}`;
  }

  private tick(ctx: Ctx, nowMs: number): void {
    this.observe(ctx, nowMs);
    for (const id of [...this.waiting]) {
      const entry = this.pending.get(id);
      if (!entry) {
        this.waiting.delete(id);
        continue;
      }
      this.place(ctx, entry, nowMs);
    }
    this.updateGauges(nowMs);
  }

  private updateGauges(nowMs: number): void {
    const { tier } = this.opts;
    const roster = this.board.roster;
    const perLabel = new Map<string, { inFlight: number; ageS: number }>();
    const workers = roster.all();
    for (const w of workers) {
      const label = this.board.labels.of(w.id);
      const prev = perLabel.get(label) ?? { inFlight: 0, ageS: 0 };
      prev.inFlight += this.board.load(w.id);
      prev.ageS = Math.max(prev.ageS, (roster.ageMs(w.id, nowMs) ?? 0) / 1000);
      perLabel.set(label, prev);
    }
    for (const [worker, v] of perLabel) {
      this.metrics.inFlight.set({ tier, worker }, v.inFlight);
      this.metrics.heartbeatAge.set({ tier, worker }, v.ageS);
    }
    const live = workers.filter((w) => w.isLive).length;
    this.metrics.workers.set({ tier, state: "live" }, live);
    this.metrics.workers.set({ tier, state: "dropped" }, workers.length - live);
    this.metrics.waiting.set({ tier }, this.waiting.size);
  }

  private index(id: string, entry: PendingRequest): void {
    this.unindex(id);
    if (entry.workerId === null) {
      this.waiting.add(id);
      return;
    }
    let ids = this.assigned.get(entry.workerId);
    if (!ids) {
      ids = new Set();
      this.assigned.set(entry.workerId, ids);
    }
    ids.add(id);
  }

  private unindex(id: string): void {
    this.waiting.delete(id);
    for (const ids of this.assigned.values()) ids.delete(id);
  }
}

/**
 * The `workerDispatcher` spec. Partitions of one tier in one process share a roster and load board
 * (see TierBoard); each call makes an independent set of boards.
 */
export function createWorkerDispatcherSpec(): ProcessorSpec<
  DispatchEvent,
  WorkerDispatcherOutputs,
  WorkerDispatcherOptions
> {
  const boards = new TierBoards();
  return {
    name: "workerDispatcher",
    input: recordTypes.DispatchEvent,
    outputs: { assignments: recordTypes.ReasoningRequest, results: recordTypes.ReasoningResult },
    stores: ["pending"],
    tables: { heartbeats: recordTypes.WorkerHeartbeat },
    options: workerDispatcherOptionsSchema,
    create: (opts) => new WorkerDispatcher(opts, boards),
  };
}

/** The `workerDispatcher` processor: a tier's requests to the live workers that can run them. */
export const workerDispatcherSpec = createWorkerDispatcherSpec();
