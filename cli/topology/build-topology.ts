import type { SwarmConductorOptions } from "../../processors/swarm/index.js";
import { ConfigError, type Topology, type TopologyNode, validateTopology } from "../../streams/index.js";
import { checkNodeOptions, resolveOptionPaths } from "./node-options.js";
import { PROCESSOR_KINDS, processorKindNames } from "./processor-kinds.js";
import { swarmNodes } from "./swarm-nodes.js";
import type { ParsedTopologyFile } from "./topology-file.js";

export interface BuildOptions {
  appId: string;
  /** Partitions of the topics the topology creates, unless the file says otherwise. */
  partitions: number;
  /** The configuration's per-node overrides (`nodes`), merged over the file's options field by field. */
  nodes?: Record<string, Record<string, unknown>>;
}

/** A topology built from a file, with what `topology show` needs besides the runtime topology. */
export interface LoadedTopology {
  name: string;
  description: string | undefined;
  /** The file as shown in messages (a preset's path relative to the package). */
  file: string;
  topology: Topology;
  /** Node name → processor kind. */
  kinds: Record<string, string>;
  /** The swarm's conductor options (experts, routes, limits) when the file has a swarm. */
  swarm: SwarmConductorOptions | undefined;
}

const TIER_FIELDS = ["name", "input", "results"] as const;
const DEFAULT_RESULTS = "reasoning.results";

/**
 * Builds the runtime topology of a parsed file: `processors` by kind, `tiers` as escalation-tier
 * nodes `tier-<name>` on `escalations.<name>`, and the `swarm` section as intake, conductor and
 * experts. Every problem (unknown kind, options that do not fit the processor, an output left
 * unbound, a route to a tier that does not exist, a cycle without a depth limit) is collected and
 * thrown as one ConfigError, each naming the file's line and field.
 */
export function buildTopology(parsed: ParsedTopologyFile, opts: BuildOptions): LoadedTopology {
  const { source, file, dir } = parsed;
  const overrides = opts.nodes ?? {};
  const problems: string[] = [];
  const nodes: TopologyNode[] = [];
  const kinds: Record<string, string> = {};
  const seen = new Map<string, string>();
  const claim = (name: string, where: (string | number)[]) => {
    const first = seen.get(name);
    if (first) problems.push(source.problem(where, `duplicate node name "${name}" (also ${first})`));
    else seen.set(name, where.join("."));
  };

  file.processors.forEach((p, i) => {
    claim(p.name, ["processors", i, "name"]);
    const spec = PROCESSOR_KINDS[p.kind];
    if (!spec) {
      problems.push(
        source.problem(
          ["processors", i, "kind"],
          `unknown processor kind "${p.kind}" (kinds: ${processorKindNames().join(", ")})`,
        ),
      );
      return;
    }
    const checked = checkNodeOptions(
      source,
      spec,
      p.name,
      resolveOptionPaths(p.options, dir) as Record<string, unknown>,
      overrides[p.name],
      { path: ["processors", i, "options"] },
    );
    problems.push(...checked.problems);
    const bound = (
      what: "outputs" | "tables",
      declared: readonly string[],
      given: Record<string, string>,
    ) => {
      for (const name of declared) {
        if (!given[name])
          problems.push(
            source.problem(
              ["processors", i, what],
              `${what.slice(0, -1)} "${name}" of ${p.kind} is not bound to a topic`,
            ),
          );
      }
      for (const name of Object.keys(given)) {
        if (!declared.includes(name))
          problems.push(
            source.problem(
              ["processors", i, what, name],
              `${p.kind} has no ${what.slice(0, -1)} "${name}" (${what}: ${declared.join(", ") || "none"})`,
            ),
          );
      }
    };
    bound("outputs", Object.keys(spec.outputs), p.outputs);
    bound("tables", Object.keys(spec.tables ?? {}), p.tables ?? {});
    kinds[p.name] = p.kind;
    nodes.push({
      name: p.name,
      spec,
      options: checked.options,
      input: p.input,
      outputs: p.outputs,
      ...(p.tables ? { tables: p.tables } : {}),
    });
  });

  nodes.push(...tierNodes(parsed, overrides, problems, kinds, claim));

  let swarm: SwarmConductorOptions | undefined;
  if (file.swarm) {
    const built = swarmNodes(source, file.swarm, dir, overrides);
    problems.push(...built.problems);
    swarm = built.conductor;
    for (const node of built.nodes) {
      claim(node.name!, ["swarm"]);
      kinds[node.name!] = node.spec.name;
      nodes.push(node);
    }
  }

  // A processor's output to escalations.<x> is a route to tier x: some node must read it.
  const inputs = new Set(nodes.map((n) => n.input));
  const tiers = file.tiers.map((t) => t.name);
  file.processors.forEach((p, i) => {
    for (const [output, topic] of Object.entries(p.outputs)) {
      if (topic.startsWith("escalations.") && !inputs.has(topic)) {
        problems.push(
          source.problem(
            ["processors", i, "outputs", output],
            `routes to ${topic}, an unknown tier (tiers: ${tiers.join(", ") || "none"}${file.swarm ? `; the swarm reads ${file.swarm.input}` : ""})`,
          ),
        );
      }
    }
  });

  const defaultPartitions = file.partitions ?? opts.partitions;
  const topology: Topology = {
    appId: opts.appId,
    defaultPartitions,
    topics: file.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions ?? defaultPartitions,
      ...(t.cleanupPolicy ? { cleanupPolicy: t.cleanupPolicy } : {}),
    })),
    nodes,
  };
  if (problems.length === 0) problems.push(...validateTopology(topology).map((p) => `${source.file}: ${p}`));
  if (nodes.length === 0 && problems.length === 0) {
    problems.push(source.problem([], "no processors, tiers or swarm: nothing to run"));
  }
  // The conductor and an expert both check an expert's timeoutMs: say it once.
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return { name: file.topology, description: file.description, file: source.file, topology, kinds, swarm };
}

/**
 * Escalation tiers: `tier-<name>` reads `input` (default `escalations.<name>`) and answers on
 * `results`. Its `handUp` and `fallback` outputs go to `escalations.<handUpTier|fallbackTier>`; when a
 * tier names none, the output (never written) is bound to the last or the first tier's topic, as in
 * the built-in mesh.
 */
function tierNodes(
  parsed: ParsedTopologyFile,
  overrides: Record<string, Record<string, unknown>>,
  problems: string[],
  kinds: Record<string, string>,
  claim: (name: string, where: (string | number)[]) => void,
): TopologyNode[] {
  const { source, file, dir } = parsed;
  const spec = PROCESSOR_KINDS["escalation-tier"]!;
  const names = file.tiers.map((t) => t.name);
  const topicOf = (name: string) => file.tiers.find((t) => t.name === name)?.input ?? `escalations.${name}`;
  return file.tiers.map((t, i) => {
    const name = `tier-${t.name}`;
    claim(name, ["tiers", i, "name"]);
    const own: Record<string, unknown> = { tier: t.name };
    for (const [key, value] of Object.entries(t)) {
      if (!(TIER_FIELDS as readonly string[]).includes(key)) own[key] = value;
    }
    const checked = checkNodeOptions(
      source,
      spec,
      name,
      resolveOptionPaths(own, dir) as Record<string, unknown>,
      overrides[name],
      { path: ["tiers", i], map: (p) => (p[0] === "tier" ? ["name", ...p.slice(1)] : p) },
    );
    problems.push(...checked.problems);
    const target = (field: "handUpTier" | "fallbackTier", unused: string): string => {
      const to = checked.options[field];
      if (typeof to !== "string") return topicOf(unused);
      if (!names.includes(to)) {
        const where = overrides[name]?.[field] !== undefined ? null : ["tiers", i, field];
        const message = `route to an unknown tier "${to}" (tiers: ${names.join(", ")})`;
        problems.push(
          where ? source.problem(where, message) : `configuration nodes.${name}.${field}: ${message}`,
        );
      }
      return topicOf(to);
    };
    kinds[name] = "escalation-tier";
    return {
      name,
      spec,
      options: checked.options,
      input: topicOf(t.name),
      outputs: {
        results: typeof t.results === "string" ? t.results : DEFAULT_RESULTS,
        handUp: target("handUpTier", names[names.length - 1]!),
        fallback: target("fallbackTier", names[0]!),
      },
    };
  });
}
