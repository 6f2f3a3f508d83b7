import { backendOptionsSchema, createTierBackend } from "../../processors/escalation-tier/index.js";
import {
  createSwarmConductorSpec,
  createSwarmExpertSpec,
  expertName,
  type SwarmConductorOptions,
  swarmConductorOptionsSchema,
  swarmIntakeSpec,
} from "../../processors/swarm/index.js";
import type { TopologyNode } from "../../streams/index.js";
import { checkNodeOptions, resolveOptionPaths } from "./node-options.js";
import type { TopologyFile } from "./topology-file.js";
import type { YamlSource } from "./yaml-source.js";

/** Experts answer with the escalation tier's backends (rules, llama, http). */
const swarmExpertSpec = createSwarmExpertSpec({
  options: backendOptionsSchema,
  create: (options, expert, log) => createTierBackend(options, expert, log),
});

/** Fields of the `swarm` section that are not conductor options. */
const TOPIC_FIELDS = ["input", "results", "thoughts", "topicPrefix"] as const;
/** Fields of an expert entry the conductor reads; the rest are the expert's own. */
const CONDUCTOR_EXPERT_FIELDS = ["name", "timeoutMs"] as const;

export interface SwarmNodes {
  nodes: TopologyNode[];
  /** The conductor's options as validated (for `topology show`); undefined when there were problems. */
  conductor: SwarmConductorOptions | undefined;
  problems: string[];
}

/**
 * The swarm section as nodes: `swarm-intake` (its input → `<prefix>.signals`), `swarm-conductor`
 * (`<prefix>.signals` → `<prefix>.<expert>` for every expert, plus results and thoughts) and one
 * `expert-<name>` per expert (`<prefix>.<name>` → `<prefix>.signals`).
 */
export function swarmNodes(
  source: YamlSource,
  swarm: NonNullable<TopologyFile["swarm"]>,
  dir: string,
  overrides: Record<string, Record<string, unknown>>,
): SwarmNodes {
  const problems: string[] = [];
  const names = swarm.experts.map((e) => e.name);
  names.forEach((name, i) => {
    const ok = expertName.safeParse(name);
    if (!ok.success)
      problems.push(source.problem(["swarm", "experts", i, "name"], ok.error.issues[0]!.message));
  });
  if (problems.length > 0) return { nodes: [], conductor: undefined, problems };
  const prefix = swarm.topicPrefix;
  const signals = `${prefix}.signals`;

  const conductorFile: Record<string, unknown> = { ...swarm };
  for (const field of TOPIC_FIELDS) delete conductorFile[field];
  conductorFile.experts = swarm.experts.map((e) => pick(e, CONDUCTOR_EXPERT_FIELDS));
  const conductorSpec = createSwarmConductorSpec(names);
  const conductor = checkNodeOptions(
    source,
    conductorSpec,
    "swarm-conductor",
    conductorFile,
    overrides["swarm-conductor"],
    { path: ["swarm"] },
  );
  problems.push(...conductor.problems);
  const outputs: Record<string, string> = { results: swarm.results, thoughts: swarm.thoughts };
  for (const name of names) outputs[name] = `${prefix}.${name}`;
  const nodes: TopologyNode[] = [
    {
      name: "swarm-intake",
      spec: swarmIntakeSpec,
      options: overrides["swarm-intake"] ?? {},
      input: swarm.input,
      outputs: { signals },
    },
    { name: "swarm-conductor", spec: conductorSpec, options: conductor.options, input: signals, outputs },
  ];
  swarm.experts.forEach((entry, i) => {
    const own: Record<string, unknown> = { expert: entry.name, backend: { kind: "rules" } };
    for (const [key, value] of Object.entries(entry)) if (key !== "name") own[key] = value;
    const node = `expert-${entry.name}`;
    const checked = checkNodeOptions(
      source,
      swarmExpertSpec,
      node,
      resolveOptionPaths(own, dir) as Record<string, unknown>,
      overrides[node],
      { path: ["swarm", "experts", i], map: (p) => (p[0] === "expert" ? ["name", ...p.slice(1)] : p) },
    );
    problems.push(...checked.problems);
    nodes.push({
      name: node,
      spec: swarmExpertSpec,
      options: checked.options,
      input: `${prefix}.${entry.name}`,
      outputs: { answers: signals },
    });
  });
  const parsed = swarmConductorOptionsSchema.safeParse(conductor.options);
  return { nodes, conductor: parsed.success ? parsed.data : undefined, problems };
}

function pick(entry: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (entry[f] !== undefined) out[f] = entry[f];
  return out;
}
