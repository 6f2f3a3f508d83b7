import { nodeName, type TopologyNode, topologyTopics } from "../../streams/index.js";
import type { LoadedTopology } from "./build-topology.js";

/** The outputs a node really writes: a tier's hand-up and fallback only when its options name a tier. */
function usedOutputs(node: TopologyNode, kind: string | undefined): [string, string][] {
  const options = (node.options ?? {}) as Record<string, unknown>;
  return Object.entries(node.outputs).filter(([output]) => {
    if (kind !== "escalation-tier") return true;
    if (output === "handUp") return typeof options.handUpTier === "string";
    if (output === "fallback") return typeof options.fallbackTier === "string";
    return true;
  });
}

/** A short note on what a node runs: a tier's or expert's backend. */
function backendNote(node: TopologyNode): string {
  const backend = (
    (node.options ?? {}) as { backend?: { kind?: string; model?: string; modelPath?: string } }
  ).backend;
  if (!backend?.kind) return "";
  const model = backend.model ?? backend.modelPath;
  return `  [backend ${backend.kind}${model ? `: ${model}` : ""}]`;
}

/** The topology as text: nodes with their topics, topic settings, and the swarm's routes. */
export function renderText(loaded: LoadedTopology): string {
  const { topology } = loaded;
  const lines = [`topology ${loaded.name} (${loaded.file})`];
  if (loaded.description)
    lines.push(
      ...loaded.description
        .trim()
        .split("\n")
        .map((l) => `  ${l}`),
    );
  const names = topology.nodes.map(nodeName);
  const width = Math.max(...names.map((n) => n.length));
  const kindWidth = Math.max(...names.map((n) => (loaded.kinds[n] ?? "").length));
  lines.push("", `processors (${topology.nodes.length}):`);
  for (const node of topology.nodes) {
    const name = nodeName(node);
    const kind = loaded.kinds[name] ?? node.spec.name;
    const outs = usedOutputs(node, kind)
      .map(([o, t]) => (o === t ? t : `${o}: ${t}`))
      .join(", ");
    const tables = Object.entries(node.tables ?? {})
      .map(([n, t]) => `${n}: ${t}`)
      .join(", ");
    lines.push(
      `  ${name.padEnd(width)}  ${kind.padEnd(kindWidth)}  ${node.input} → ${outs || "(none)"}` +
        (tables ? `  (tables ${tables})` : "") +
        backendNote(node),
    );
  }
  const topics = topologyTopics(topology).filter(
    (t) => !t.name.endsWith(".dlq") && !t.name.endsWith(".changelog"),
  );
  lines.push("", `topics (${topics.length}, plus a .dlq per input and changelogs of stores):`);
  for (const t of topics) {
    lines.push(
      `  ${t.name} (${t.partitions} partition${t.partitions === 1 ? "" : "s"}${t.cleanupPolicy === "compact" ? ", compacted" : ""})`,
    );
  }
  const swarm = loaded.swarm;
  if (swarm) {
    lines.push(
      "",
      `swarm: ${swarm.experts.length} experts; entry ${swarm.entry.join(", ")}; output ${swarm.output.join(", ") || "(deepest answer)"}; ` +
        `maxPropagationDepth ${swarm.maxPropagationDepth ?? "none (acyclic)"}; activationThreshold ${swarm.activationThreshold}`,
    );
    const from = Math.max(...swarm.routes.map((r) => r.from.length));
    const to = Math.max(...swarm.routes.map((r) => r.to.length));
    for (const r of swarm.routes) {
      lines.push(`  ${r.from.padEnd(from)} → ${r.to.padEnd(to)}  ${r.kind.padEnd(8)} weight ${r.weight}`);
    }
    const m = swarm.memory;
    lines.push(
      `  memory: expert ${m.expert ?? (swarm.experts.some((e) => e.name === "memory") ? "memory" : "(none)")}; short-term ${m.shortTermCapacity}, episodic ${m.episodicCapacity}, consolidated every ${m.consolidationInterval} thoughts`,
    );
  }
  return `${lines.join("\n")}\n`;
}

const id = (prefix: string, name: string) => `${prefix}_${name.replace(/[^a-zA-Z0-9]/g, "_")}`;
const label = (text: string) => `"${text.replace(/"/g, "#quot;")}"`;

/**
 * The topology as a Mermaid flowchart: processors as boxes, topics as cylinders, edges labelled with
 * output and table names; the swarm's expert routes in a subgraph (solid forward, dotted skip, thick
 * feedback).
 */
export function renderMermaid(loaded: LoadedTopology): string {
  const { topology } = loaded;
  const lines = ["flowchart LR"];
  const topics = new Set<string>();
  const edges: string[] = [];
  for (const node of topology.nodes) {
    const name = nodeName(node);
    const kind = loaded.kinds[name] ?? node.spec.name;
    lines.push(`  ${id("n", name)}[${label(kind === name ? name : `${name}<br/>${kind}`)}]`);
    topics.add(node.input);
    edges.push(`  ${id("t", node.input)} --> ${id("n", name)}`);
    for (const [output, topic] of usedOutputs(node, kind)) {
      topics.add(topic);
      edges.push(`  ${id("n", name)} -->|${label(output)}| ${id("t", topic)}`);
    }
    for (const [table, topic] of Object.entries(node.tables ?? {})) {
      topics.add(topic);
      edges.push(`  ${id("t", topic)} -.->|${label(`table ${table}`)}| ${id("n", name)}`);
    }
  }
  for (const topic of topics) lines.push(`  ${id("t", topic)}[(${label(topic)})]`);
  lines.push(...edges);
  const swarm = loaded.swarm;
  if (swarm) {
    lines.push(`  subgraph swarm_routes[${label("swarm routes")}]`);
    for (const e of swarm.experts) lines.push(`    ${id("e", e.name)}([${label(e.name)}])`);
    for (const r of swarm.routes) {
      const arrow = r.kind === "skip" ? "-.->" : r.kind === "feedback" ? "==>" : "-->";
      lines.push(`    ${id("e", r.from)} ${arrow}|${label(r.kind)}| ${id("e", r.to)}`);
    }
    lines.push("  end");
  }
  return `${lines.join("\n")}\n`;
}
