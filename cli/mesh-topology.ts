import { join } from "node:path";
import {
  controlSinkSpec,
  escalationTierSpec,
  feedbackLearnerSpec,
  routerSpec,
  snnFilterSpec,
} from "../processors/index.js";
import type { Topology } from "../streams/topology/topology.js";
import { packageRoot } from "./package-root.js";

/** The topics of the three-tier mesh (DESIGN.md "Topics and records"). */
export const MESH_TOPICS = {
  telemetry: "telemetry.raw",
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
   * Options of the phi2 and deepseek tiers. Default: the rules backend standing in for the models,
   * labelled as such in every result's `model` field.
   */
  modelTiers?: { phi2?: Record<string, unknown>; deepseek?: Record<string, unknown> };
}

/**
 * The cognitive mesh: telemetry → SNN filter → spikes → router → escalations.<tier> → tier workers
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
    topics: [{ name: t.weights, partitions: opts.partitions, cleanupPolicy: "compact" }],
    nodes: [
      {
        name: "snn-filter",
        spec: snnFilterSpec,
        options: over("snn-filter"),
        input: t.telemetry,
        outputs: { spikes: t.spikes },
      },
      {
        name: "router",
        spec: routerSpec,
        options: { cataloguePath: join(packageRoot(), "topologies", "catalogue.yaml"), ...over("router") },
        input: t.spikes,
        outputs: { rules: t.rules, phi2: t.phi2, deepseek: t.deepseek },
        tables: { weights: t.weights },
      },
      {
        name: "tier-rules",
        spec: escalationTierSpec,
        options: { tier: "rules", ...over("tier-rules") },
        input: t.rules,
        outputs: { results: t.results },
      },
      {
        name: "tier-phi2",
        spec: escalationTierSpec,
        options: { ...(opts.modelTiers?.phi2 ?? standIn("phi2")), ...over("tier-phi2") },
        input: t.phi2,
        outputs: { results: t.results },
      },
      {
        name: "tier-deepseek",
        spec: escalationTierSpec,
        options: { ...(opts.modelTiers?.deepseek ?? standIn("deepseek")), ...over("tier-deepseek") },
        input: t.deepseek,
        outputs: { results: t.results },
      },
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
