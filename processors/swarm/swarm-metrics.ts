import type { Counter, Histogram, Registry } from "prom-client";
import { counter, histogram, LATENCY_BUCKETS_SECONDS } from "../../streams/index.js";

/** The conductor's metrics (one catalogue; labels are expert names from the configuration). */
export interface ConductorMetrics {
  thoughts: Counter<"stop">;
  activations: Counter<"expert" | "outcome">;
  answers: Counter<"expert" | "outcome">;
  depth: Histogram;
  consolidations: Counter;
}

export function conductorMetrics(registry: Registry): ConductorMetrics {
  return {
    thoughts: counter(registry, {
      name: "spikemesh_swarm_thoughts_total",
      help: "Inputs the swarm finished, by why propagation stopped: depth-limit, no-activation, no-routes",
      labelNames: ["stop"],
    }),
    activations: counter(registry, {
      name: "spikemesh_swarm_activations_total",
      help: "Experts the conductor activated (outcome run) or skipped below the activation threshold (skipped)",
      labelNames: ["expert", "outcome"],
    }),
    answers: counter(registry, {
      name: "spikemesh_swarm_answers_total",
      help: "Expert answers the conductor received, by outcome: ok, error, missing (no answer in time), late (after its wave went on), duplicate",
      labelNames: ["expert", "outcome"],
    }),
    depth: histogram(registry, {
      name: "spikemesh_swarm_thought_depth",
      help: "Deepest propagation wave of each finished input",
      labelNames: [],
      buckets: [1, 2, 3, 4, 5, 6, 8, 12, 16, 32, 64],
    }),
    consolidations: counter(registry, {
      name: "spikemesh_swarm_memory_consolidations_total",
      help: "Short-term memory consolidated into an episode",
      labelNames: [],
    }),
  };
}

/** An expert's metrics. */
export interface ExpertMetrics {
  requests: Counter<"expert" | "outcome">;
  latency: Histogram<"expert">;
  tokens: Counter<"expert" | "model">;
}

export function expertMetrics(registry: Registry): ExpertMetrics {
  return {
    requests: counter(registry, {
      name: "spikemesh_swarm_expert_requests_total",
      help: "Activations an expert answered, by outcome: ok, error, timeout",
      labelNames: ["expert", "outcome"],
    }),
    latency: histogram(registry, {
      name: "spikemesh_swarm_expert_latency_seconds",
      help: "Time an expert's backend took per activation",
      labelNames: ["expert"],
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
    tokens: counter(registry, {
      name: "spikemesh_swarm_expert_tokens_total",
      help: "Tokens an expert's model generated",
      labelNames: ["expert", "model"],
    }),
  };
}
