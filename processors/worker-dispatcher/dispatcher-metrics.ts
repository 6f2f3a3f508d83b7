import type { Counter, Gauge, Registry } from "prom-client";
import { counter, gauge } from "../../streams/index.js";

/** The worker dispatcher's metric catalogue (one set per registry, shared by partitions and tiers). */
export interface DispatcherMetrics {
  assigned: Counter<"tier" | "worker">;
  answered: Counter<"tier" | "worker">;
  reassigned: Counter<"tier" | "worker">;
  failed: Counter<"tier" | "reason">;
  inFlight: Gauge<"tier" | "worker">;
  heartbeatAge: Gauge<"tier" | "worker">;
  workers: Gauge<"tier" | "state">;
  waiting: Gauge<"tier">;
}

/** Why the dispatcher answered a request with an error result itself. */
export const FAILURE_REASONS = ["no_capable_worker", "deadline", "workers_lost"] as const;
export type DispatchFailure = (typeof FAILURE_REASONS)[number];

export function dispatcherMetrics(registry: Registry): DispatcherMetrics {
  return {
    assigned: counter(registry, {
      name: "spikemesh_worker_dispatcher_assigned_total",
      help: "Requests assigned to a worker (reassignments included), by tier and worker",
      labelNames: ["tier", "worker"],
    }),
    answered: counter(registry, {
      name: "spikemesh_worker_dispatcher_answered_total",
      help: "Results workers produced for dispatched requests, by tier and worker",
      labelNames: ["tier", "worker"],
    }),
    reassigned: counter(registry, {
      name: "spikemesh_worker_dispatcher_reassigned_total",
      help: "Unanswered requests taken from a worker that was dropped, by tier and the dropped worker",
      labelNames: ["tier", "worker"],
    }),
    failed: counter(registry, {
      name: "spikemesh_worker_dispatcher_failed_total",
      help: "Requests the dispatcher answered with an error result, by tier and reason: no_capable_worker, deadline, workers_lost",
      labelNames: ["tier", "reason"],
    }),
    inFlight: gauge(registry, {
      name: "spikemesh_worker_dispatcher_in_flight",
      help: "Requests assigned to a worker and not yet answered, by tier and worker",
      labelNames: ["tier", "worker"],
    }),
    heartbeatAge: gauge(registry, {
      name: "spikemesh_worker_dispatcher_heartbeat_age_seconds",
      help: "Time since the worker's newest heartbeat was seen, by tier and worker",
      labelNames: ["tier", "worker"],
    }),
    workers: gauge(registry, {
      name: "spikemesh_worker_dispatcher_workers",
      help: "Workers of the tier in the heartbeats table, by state: live, dropped",
      labelNames: ["tier", "state"],
    }),
    waiting: gauge(registry, {
      name: "spikemesh_worker_dispatcher_waiting_requests",
      help: "Requests waiting for a live worker that can run them, by tier",
      labelNames: ["tier"],
    }),
  };
}

/** Starts the tier's series at zero so that rates count the first events. */
export function initDispatcherSeries(m: DispatcherMetrics, tier: string): void {
  for (const reason of FAILURE_REASONS) m.failed.inc({ tier, reason }, 0);
  m.workers.set({ tier, state: "live" }, 0);
  m.workers.set({ tier, state: "dropped" }, 0);
  m.waiting.set({ tier }, 0);
}

/** Bounded `worker` label values: the first `max` worker ids get their own, later ones "other". */
export class WorkerLabels {
  private readonly known = new Set<string>();

  constructor(private readonly max: number) {}

  of(workerId: string): string {
    if (this.known.has(workerId)) return workerId;
    if (this.known.size < this.max) {
      this.known.add(workerId);
      return workerId;
    }
    return "other";
  }
}
