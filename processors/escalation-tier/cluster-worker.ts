import { z } from "zod";
import { type DispatchEvent, type ReasoningRequest, recordTypes } from "../../schemas/index.js";
import type { Processor, ProcessorContext, ProcessorSpec, Rec } from "../../streams/index.js";
import { createTierBackend } from "./create-backend.js";
import {
  type BackendFactory,
  createEscalationTierSpec,
  type EscalationTierOutputs,
} from "./escalation-tier.js";
import { escalationTierOptionsSchema } from "./options.js";

/**
 * Header naming the worker an assignment is for (the worker dispatcher sets it; processors do not
 * import each other, so the name is agreed here and there).
 */
export const ASSIGNED_WORKER_HEADER = "spikemesh.worker";

export type ClusterWorkerOutputs = EscalationTierOutputs & {
  /** ANSWERED events for the tier's dispatcher (`workers.<tier>.dispatch`), keyed by request id. */
  answered: DispatchEvent;
};

/** Options of the `clusterWorker` processor: the escalation tier's, plus the worker's id. */
export const clusterWorkerOptionsSchema = escalationTierOptionsSchema.safeExtend({
  /** This worker's id: it answers the assignments addressed to it and skips the others. */
  workerId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "1-64 letters, digits, '.', '_' or '-'"),
});

export type ClusterWorkerOptions = z.output<typeof clusterWorkerOptionsSchema>;

/** Counts a worker reports in its heartbeats; shared by its partitions. */
export class WorkerStats {
  /** Requests being answered now. */
  inFlight = 0;
  /** Requests answered (a result produced) since the worker started. */
  answered = 0;
}

/**
 * One tier worker of a capability-matched cluster: reads the tier's assignments topic, answers
 * the requests addressed to it (header `spikemesh.worker`) with the escalation tier's worker and
 * backend, and skips the others. For each answered request it also tells the dispatcher, with an
 * ANSWERED event written with the result, so the request is no longer pending.
 */
class ClusterWorker implements Processor<ReasoningRequest, ClusterWorkerOutputs> {
  constructor(
    private readonly workerId: string,
    private readonly inner: Processor<ReasoningRequest, EscalationTierOutputs>,
    private readonly stats: WorkerStats,
  ) {}

  async init(ctx: ProcessorContext<ClusterWorkerOutputs>): Promise<void> {
    await this.inner.init?.(ctx);
  }

  async process(rec: Rec<ReasoningRequest>, ctx: ProcessorContext<ClusterWorkerOutputs>): Promise<void> {
    if (rec.headers[ASSIGNED_WORKER_HEADER] !== this.workerId) return;
    const request = rec.value;
    let error: string | null = null;
    const seen: ProcessorContext<ClusterWorkerOutputs> = Object.create(ctx, {
      forward: {
        value: (to: keyof ClusterWorkerOutputs & string, out: Rec<unknown>) => {
          if (to === "results") error = (out.value as { error: string | null }).error;
          ctx.forward(to, out as Rec<never>);
        },
      },
    });
    this.stats.inFlight++;
    try {
      await this.inner.process(rec, seen);
    } finally {
      this.stats.inFlight--;
    }
    this.stats.answered++;
    ctx.forward("answered", {
      key: request.id,
      value: {
        kind: "ANSWERED",
        ts: ctx.clock.nowMs(),
        requestId: request.id,
        tier: request.tier,
        workerId: this.workerId,
        request: null,
        error,
      },
      timestampMs: rec.timestampMs,
      headers: {},
    });
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

/** The `clusterWorker` spec with an injectable backend factory and the stats its heartbeats report. */
export function createClusterWorkerSpec(
  options: { createBackend?: BackendFactory; stats?: WorkerStats } = {},
): ProcessorSpec<ReasoningRequest, ClusterWorkerOutputs, ClusterWorkerOptions> {
  const tier = createEscalationTierSpec(options.createBackend ?? createTierBackend);
  const stats = options.stats ?? new WorkerStats();
  return {
    name: "clusterWorker",
    input: recordTypes.ReasoningRequest,
    outputs: { ...tier.outputs, answered: recordTypes.DispatchEvent },
    options: clusterWorkerOptionsSchema,
    create: ({ workerId, ...tierOptions }) => new ClusterWorker(workerId, tier.create(tierOptions), stats),
  };
}
