import type { TopicConfig } from "../transport/transport.js";
import type { AnyProcessorSpec } from "./processor.js";

/** One processor instance in a topology, bound to topics. */
export interface TopologyNode {
  /** Instance name: consumer-group suffix, log and metric label. Defaults to the spec's name. */
  name?: string;
  spec: AnyProcessorSpec;
  /** Raw options, validated against spec.options at start. */
  options?: unknown;
  input: string;
  /** Output name → topic. Every output of the spec must be bound. */
  outputs: Record<string, string>;
  /** Table name → compacted topic. Every table of the spec must be bound. */
  tables?: Record<string, string>;
}

export interface Topology {
  /** Prefix of consumer groups and changelog topics. */
  appId: string;
  nodes: TopologyNode[];
  /** Topic settings (partitions, cleanup policy); topics not listed get `defaultPartitions`. */
  topics?: TopicConfig[];
  /** Default 1. */
  defaultPartitions?: number;
}

export function nodeName(node: TopologyNode): string {
  return node.name ?? node.spec.name;
}

export function groupId(appId: string, node: TopologyNode): string {
  return `${appId}.${nodeName(node)}`;
}

export function changelogTopic(appId: string, node: TopologyNode, store: string): string {
  return `${appId}.${nodeName(node)}.${store}.changelog`;
}

export function dlqTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Every topic the topology reads or writes, with the config it needs. */
export function topologyTopics(topology: Topology): TopicConfig[] {
  const configured = new Map((topology.topics ?? []).map((t) => [t.name, t]));
  const partitionsOf = (name: string) => configured.get(name)?.partitions ?? topology.defaultPartitions ?? 1;
  const out = new Map<string, TopicConfig>();
  const add = (cfg: TopicConfig) => {
    if (!out.has(cfg.name)) out.set(cfg.name, { ...cfg, ...configured.get(cfg.name) });
  };
  for (const node of topology.nodes) {
    add({ name: node.input, partitions: partitionsOf(node.input) });
    add({ name: dlqTopic(node.input), partitions: partitionsOf(node.input) });
    for (const topic of Object.values(node.outputs)) add({ name: topic, partitions: partitionsOf(topic) });
    for (const topic of Object.values(node.tables ?? {})) {
      add({ name: topic, partitions: partitionsOf(topic), cleanupPolicy: "compact" });
    }
    for (const store of node.spec.stores ?? []) {
      add({
        name: changelogTopic(topology.appId, node, store),
        partitions: partitionsOf(node.input),
        cleanupPolicy: "compact",
      });
    }
  }
  return [...out.values()];
}

/** Checks bindings before anything connects; returns problems naming node and field. */
export function validateTopology(topology: Topology): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  topology.nodes.forEach((node, i) => {
    const where = `nodes[${i}] (${nodeName(node)})`;
    if (names.has(nodeName(node))) problems.push(`${where}.name: duplicate node name`);
    names.add(nodeName(node));
    if (!node.input) problems.push(`${where}.input: missing input topic`);
    for (const output of Object.keys(node.spec.outputs)) {
      if (!node.outputs[output]) problems.push(`${where}.outputs.${output}: output is not bound to a topic`);
    }
    for (const output of Object.keys(node.outputs)) {
      if (!(output in node.spec.outputs))
        problems.push(`${where}.outputs.${output}: the processor has no such output`);
    }
    for (const table of Object.keys(node.spec.tables ?? {})) {
      if (!node.tables?.[table]) problems.push(`${where}.tables.${table}: table is not bound to a topic`);
    }
  });
  return problems;
}
