import { join } from "node:path";
import {
  controlSinkSpec,
  escalationTierOptionsSchema,
  escalationTierSpec,
  feedbackLearnerSpec,
  mediaEncoderSpec,
  routerSpec,
  snnFilterSpec,
  snnLogFilterSpec,
  spikeCorrelatorSpec,
} from "../processors/index.js";
import { ConfigError } from "../streams/index.js";
import type { Topology, TopologyNode } from "../streams/topology/topology.js";
import { packageRoot } from "./package-root.js";

/** The topics of the three-tier mesh (DESIGN.md "Topics and records"). */
export const MESH_TOPICS = {
  telemetry: "telemetry.raw",
  logs: "logs.raw",
  media: "media.raw",
  mediaFeatures: "media.features",
  spikes: "spikes",
  rules: "escalations.rules",
  phi2: "escalations.phi2",
  deepseek: "escalations.deepseek",
  results: "reasoning.results",
  control: "control",
  feedback: "feedback",
  weights: "route-weights",
} as const;

export interface MeshTopologyOptions {
  appId: string;
  partitions: number;
  /** Per-node option overrides, by node name (`snn-filter`, `router`, `tier-phi2`, ...). */
  options?: Record<string, Record<string, unknown>>;
  /**
   * Options of the phi2 and deepseek tiers (escalationTier options: backend, retries, breaker,
   * fallbackTier, handUpTier). Default: the rules backend standing in for the models, labelled as
   * such in every result's `model` field. `options["tier-phi2"]` (the config's `nodes`) is merged
   * over these, so `nodes: { tier-phi2: { backend: { kind: llama, modelPath: ... } } }` selects a
   * backend from configuration.
   */
  modelTiers?: { phi2?: Record<string, unknown>; deepseek?: Record<string, unknown> };
}

const MESH_TIERS = ["rules", "phi2", "deepseek"] as const;

/**
 * Hand-offs in the mesh unless configured otherwise: phi2 hands novel or correlated cases up to
 * deepseek; a model tier that cannot answer passes the request to the rules tier.
 */
const TIER_DEFAULTS: Record<(typeof MESH_TIERS)[number], Record<string, unknown>> = {
  rules: {},
  phi2: { handUpTier: "deepseek", fallbackTier: "rules" },
  deepseek: { fallbackTier: "rules" },
};

/**
 * A tier node with its `handUp` and `fallback` outputs bound to `escalations.<tier>` of the tiers
 * its options name (unused outputs are bound to a mesh topic and never written).
 */
function tierNode(tier: (typeof MESH_TIERS)[number], options: Record<string, unknown>): TopologyNode {
  const name = `tier-${tier}`;
  const parsed = escalationTierOptionsSchema.safeParse(options);
  const target = (field: "handUpTier" | "fallbackTier", unused: string): string => {
    const to = parsed.success ? parsed.data[field] : null;
    if (to === null) return unused;
    if (!(MESH_TIERS as readonly string[]).includes(to)) {
      throw new ConfigError([
        `nodes.${name}.${field}: "${to}" is not a tier of the mesh (${MESH_TIERS.join(", ")})`,
      ]);
    }
    return `escalations.${to}`;
  };
  return {
    name,
    spec: escalationTierSpec,
    options,
    input: `escalations.${tier}`,
    outputs: {
      results: MESH_TOPICS.results,
      handUp: target("handUpTier", MESH_TOPICS.deepseek),
      fallback: target("fallbackTier", MESH_TOPICS.rules),
    },
  };
}

/**
 * The cognitive mesh: telemetry → SNN filter → spikes, logs → SNN log filter (templates) → spikes,
 * and media → media encoder → media.features → a second SNN filter → spikes (+ correlated spikes from the spike correlator) → router → escalations.<tier> → tier workers
 * → reasoning.results → control sink → control + feedback → feedback learner → route-weights, which
 * the router reads back as a table.
 */
export function meshTopology(opts: MeshTopologyOptions): Topology {
  const t = MESH_TOPICS;
  const over = (name: string) => opts.options?.[name] ?? {};
  const standIn = (tier: string) => ({
    tier,
    backend: { kind: "rules", model: `rules (stand-in for ${tier})` },
  });
  return {
    appId: opts.appId,
    defaultPartitions: opts.partitions,
    topics: [
      { name: t.weights, partitions: opts.partitions, cleanupPolicy: "compact" },
      // Spikes are few after the filter: one partition lets the correlator (and one router
      // instance) see every source.
      { name: t.spikes, partitions: 1 },
    ],
    nodes: [
      {
        name: "snn-filter",
        spec: snnFilterSpec,
        options: over("snn-filter"),
        input: t.telemetry,
        outputs: { spikes: t.spikes },
      },
      {
        // Log lines become templates whose novelty and rates drive neurons of their own.
        name: "snn-log-filter",
        spec: snnLogFilterSpec,
        options: over("snn-log-filter"),
        input: t.logs,
        outputs: { spikes: t.spikes },
      },
      {
        // Images and audio become numbers (novelty of embeddings, RMS, flux, zero-crossing rate)...
        name: "media-encoder",
        spec: mediaEncoderSpec,
        options: over("media-encoder"),
        input: t.media,
        outputs: { features: t.mediaFeatures },
      },
      {
        // ... which an SNN filter of their own watches, tuned apart from host telemetry.
        name: "snn-filter-media",
        spec: snnFilterSpec,
        options: over("snn-filter-media"),
        input: t.mediaFeatures,
        outputs: { spikes: t.spikes },
      },
      {
        name: "spike-correlator",
        spec: spikeCorrelatorSpec,
        options: over("spike-correlator"),
        input: t.spikes,
        // It ignores the REASONING_TRIGGER spikes it writes, so its output can go back to `spikes`.
        outputs: { correlated: t.spikes },
      },
      {
        name: "router",
        spec: routerSpec,
        options: { cataloguePath: join(packageRoot(), "topologies", "catalogue.yaml"), ...over("router") },
        input: t.spikes,
        outputs: { rules: t.rules, phi2: t.phi2, deepseek: t.deepseek },
        tables: { weights: t.weights },
      },
      tierNode("rules", { tier: "rules", ...over("tier-rules") }),
      tierNode("phi2", {
        ...TIER_DEFAULTS.phi2,
        ...(opts.modelTiers?.phi2 ?? standIn("phi2")),
        ...over("tier-phi2"),
      }),
      tierNode("deepseek", {
        ...TIER_DEFAULTS.deepseek,
        ...(opts.modelTiers?.deepseek ?? standIn("deepseek")),
        ...over("tier-deepseek"),
      }),
      {
        name: "control-sink",
        spec: controlSinkSpec,
        options: over("control-sink"),
        input: t.results,
        outputs: { control: t.control, feedback: t.feedback },
      },
      {
        name: "feedback-learner",
        spec: feedbackLearnerSpec,
        options: over("feedback-learner"),
        input: t.feedback,
        outputs: { weights: t.weights },
      },
    ],
  };
}
