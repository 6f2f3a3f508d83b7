import {
  clusterWorkerOptionsSchema,
  dispatchIntakeSpec,
  workerDispatcherSpec,
} from "../../processors/index.js";
import type { AnyProcessorSpec, Topology, TopologyNode } from "../../streams/index.js";
import type { TopicConfig } from "../../streams/transport/transport.js";

/** The topics of a capability-matched worker cluster (DESIGN.md "Topologies", `cluster`). */
export const CLUSTER_TOPICS = {
  /** Compacted, key = worker id: every worker's newest heartbeat. */
  heartbeats: "workers.heartbeats",
  results: "reasoning.results",
  escalations: (tier: string) => `escalations.${tier}`,
  /** REQUEST and ANSWERED events of a tier's dispatcher, key = request id. */
  dispatch: (tier: string) => `workers.${tier}.dispatch`,
  /** Requests addressed to one worker of the tier (header spikemesh.worker). */
  assignments: (tier: string) => `workers.${tier}.assignments`,
} as const;

/** The heartbeats topic: compacted, one partition (a heartbeat per worker). */
export const HEARTBEATS_TOPIC: TopicConfig = {
  name: CLUSTER_TOPICS.heartbeats,
  partitions: 1,
  cleanupPolicy: "compact",
};

export interface DispatcherTopologyOptions {
  appId: string;
  partitions: number;
  /** One dispatcher per tier; options are the workerDispatcher's (tier is set here). */
  tiers: { tier: string; options?: Record<string, unknown> }[];
}

/**
 * A tier's dispatch: `escalations.<tier>` → dispatch-intake-<tier> → `workers.<tier>.dispatch` →
 * dispatcher-<tier> (with the heartbeats table) → `workers.<tier>.assignments`, and error results
 * for requests no worker can run on `reasoning.results`.
 */
export function dispatcherTopology(opts: DispatcherTopologyOptions): Topology {
  const t = CLUSTER_TOPICS;
  return {
    appId: opts.appId,
    defaultPartitions: opts.partitions,
    topics: [HEARTBEATS_TOPIC],
    nodes: opts.tiers.flatMap(({ tier, options }): TopologyNode[] => [
      {
        name: `dispatch-intake-${tier}`,
        spec: dispatchIntakeSpec,
        input: t.escalations(tier),
        outputs: { dispatch: t.dispatch(tier) },
      },
      {
        name: `dispatcher-${tier}`,
        spec: workerDispatcherSpec,
        options: { ...options, tier },
        input: t.dispatch(tier),
        outputs: { assignments: t.assignments(tier), results: t.results },
        tables: { heartbeats: t.heartbeats },
      },
    ]),
  };
}

export interface WorkerTopologyOptions {
  appId: string;
  partitions: number;
  workerId: string;
  tier: string;
  /** The clusterWorker spec (with the stats the heartbeats report). */
  spec: AnyProcessorSpec;
  /** The worker's escalation tier options (backend, timeoutMs, fallbackTier, ...). */
  options: Record<string, unknown>;
}

/**
 * One worker: `workers.<tier>.assignments` → worker-<id> (its own consumer group, so every worker
 * sees every assignment and answers its own) → `reasoning.results`, plus ANSWERED events back to
 * the tier's dispatch topic. Hand-offs go to `escalations.<handUpTier|fallbackTier>` when set.
 */
export function workerTopology(opts: WorkerTopologyOptions): Topology {
  const t = CLUSTER_TOPICS;
  const options = { ...opts.options, tier: opts.tier, workerId: opts.workerId };
  const parsed = clusterWorkerOptionsSchema.safeParse(options);
  const target = (field: "handUpTier" | "fallbackTier"): string => {
    const to = parsed.success ? parsed.data[field] : null;
    // Unused outputs are never written; the tier's own escalations topic exists in a cluster anyway.
    return t.escalations(to ?? opts.tier);
  };
  return {
    appId: opts.appId,
    defaultPartitions: opts.partitions,
    topics: [HEARTBEATS_TOPIC],
    nodes: [
      {
        name: `worker-${opts.workerId}`,
        spec: opts.spec,
        options,
        input: t.assignments(opts.tier),
        outputs: {
          results: t.results,
          handUp: target("handUpTier"),
          fallback: target("fallbackTier"),
          answered: t.dispatch(opts.tier),
        },
      },
    ],
  };
}
