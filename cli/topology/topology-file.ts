import { readFileSync } from "node:fs";
import { type core, z } from "zod";
import { ConfigError } from "../../streams/index.js";
import { type FieldPath, YamlSource } from "./yaml-source.js";

const topicName = z
  .string()
  .regex(/^[a-zA-Z0-9._-]+$/, "a topic name: letters, digits, '.', '_' and '-'")
  .max(249);
const nodeName = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, "lower-case letters, digits and '-', starting with a letter");

/**
 * The shape of a topology file. Only the structure is checked here; each processor's `options` (and
 * the tier and swarm fields, which are processor options) are checked against that processor's own
 * schema when the topology is built, with the same line-and-field messages.
 */
export const topologyFileSchema = z.strictObject({
  /** The topology's name (a preset's is its file name). */
  topology: nodeName,
  description: z.string().optional(),
  /** Partitions of the topics the topology creates, unless `topics` says otherwise. Default: the configuration's runner.partitions. */
  partitions: z.number().int().min(1).max(1024).optional(),
  /** Settings of particular topics. */
  topics: z
    .array(
      z.strictObject({
        name: topicName,
        partitions: z.number().int().min(1).max(1024).optional(),
        cleanupPolicy: z.enum(["delete", "compact"]).optional(),
      }),
    )
    .default([]),
  /** Processors by kind (see `spikemesh topology kinds`), each bound to its input and output topics. */
  processors: z
    .array(
      z.strictObject({
        /** Node name: consumer-group suffix, log and metric label, the key of the configuration's `nodes` map. */
        name: nodeName,
        kind: z.string().min(1),
        input: topicName,
        /** Output name → topic; every output of the kind must be bound. */
        outputs: z.record(z.string(), topicName).default({}),
        /** Table name → compacted topic. */
        tables: z.record(z.string(), topicName).optional(),
        /** The processor's options (its own schema checks them). */
        options: z.record(z.string(), z.unknown()).default({}),
      }),
    )
    .default([]),
  /**
   * Escalation tiers: node `tier-<name>` reading `escalations.<name>`, answering on `results`. The
   * other fields are the escalation tier's options (backend, timeoutMs, handUpTier, fallbackTier, ...).
   */
  tiers: z
    .array(
      z.looseObject({
        name: nodeName,
        /** Default `escalations.<name>`. */
        input: topicName.optional(),
        /** Default `reasoning.results`. */
        results: topicName.optional(),
      }),
    )
    .default([]),
  /** The expert swarm (see README "The swarm"); its other fields are the conductor's options. */
  swarm: z
    .looseObject({
      /** ReasoningRequests that enter the swarm. Default `escalations.swarm`. */
      input: topicName.default("escalations.swarm"),
      /** Where the swarm's ReasoningResults go. Default `reasoning.results`. */
      results: topicName.default("reasoning.results"),
      /** Where the SwarmThought of every input goes. Default `swarm.thoughts`. */
      thoughts: topicName.default("swarm.thoughts"),
      /** Prefix of the swarm's own topics: `<prefix>.signals` and `<prefix>.<expert>`. Default `swarm`. */
      topicPrefix: topicName.default("swarm"),
      /** The experts: name, backend (default rules), timeoutMs, role. */
      experts: z.array(z.looseObject({ name: z.string() })).min(1),
    })
    .optional(),
});

export type TopologyFile = z.output<typeof topologyFileSchema>;

/** A topology file read and checked for shape, with its source positions kept for later messages. */
export interface ParsedTopologyFile {
  source: YamlSource;
  file: TopologyFile;
  /** Directory of the file: relative paths in options are resolved from here. */
  dir: string;
}

/** Reads and checks a topology file; every problem names its line and field. */
export function parseTopologyFile(path: string, shownAs: string, dir: string): ParsedTopologyFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError([`${shownAs}: cannot read the topology file: ${(err as Error).message}`]);
  }
  return parseTopologyText(text, shownAs, dir);
}

export function parseTopologyText(text: string, shownAs: string, dir: string): ParsedTopologyFile {
  const source = YamlSource.parse(shownAs, text);
  if (typeof source.value !== "object" || source.value === null || Array.isArray(source.value)) {
    throw new ConfigError([
      `${shownAs}:1:1: a topology file is a mapping with at least \`topology: <name>\``,
    ]);
  }
  const parsed = topologyFileSchema.safeParse(source.value);
  if (!parsed.success) throw new ConfigError(issueProblems(source, [], parsed.error.issues, source.value));
  return { source, file: parsed.data, dir };
}

/**
 * Zod issues as `file:line:col: field: message`, paths taken under `base` in the file. `map` turns an
 * issue path of the validated value into a path in the file (fields renamed or moved by the builder).
 */
export function issueProblems(
  source: YamlSource,
  base: FieldPath,
  issues: readonly core.$ZodIssue[],
  validated: unknown,
  map: (path: FieldPath) => FieldPath = (p) => p,
): string[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...map(issue.path as FieldPath)];
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => source.problem([...path, key], "unknown field"));
    }
    if (issue.code === "invalid_type") {
      const value = valueAt(validated, issue.path as FieldPath);
      return source.problem(
        path,
        value === undefined
          ? `missing (expected ${issue.expected})`
          : `expected ${issue.expected}, got ${describeValue(value)}`,
      );
    }
    return source.problem(path, issue.message);
  });
}

function valueAt(value: unknown, path: FieldPath): unknown {
  let v = value;
  for (const part of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[part];
  }
  return v;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string")
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}
