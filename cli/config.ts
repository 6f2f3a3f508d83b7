import { existsSync, readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../streams/index.js";
import { DEFAULT_KAFKA_CLIENT, KAFKA_CLIENTS } from "../streams/kafka/index.js";
import { agentOptions } from "./agent/agent-options.js";
import { apiKeyListSchema, apiKeySchema, endpointKeysSchema } from "./api-key-config.js";
import { serveConfigSchema, workerConfigSchema } from "./cluster/cluster-config.js";

const brokerList = z.preprocess(
  (v) => (typeof v === "string" ? v.split(",").map((b) => b.trim()) : v),
  z
    .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, "each broker must be host:port"))
    .min(1, "at least one broker"),
);

/** Client settings of the Kafka runtime; files (TLS) are read and checked at start. */
const kafkaSchema = z
  .object({
    /** Bootstrap brokers, `host:port`, a list or a comma-separated string. */
    brokers: brokerList,
    /** Client library: "platformatic" (@platformatic/kafka) or "kafkajs"; README "Kafka clients" says why. */
    client: z.enum(KAFKA_CLIENTS).default(DEFAULT_KAFKA_CLIENT),
    clientId: z.string().min(1).default("spikemesh"),
    /** TLS: true for the system CAs, or PEM files. */
    ssl: z
      .union([
        z.boolean(),
        z
          .object({
            /** CA certificate(s) to trust, PEM file. */
            ca: z.string().min(1).optional(),
            /** Client certificate, PEM file (mutual TLS). */
            cert: z.string().min(1).optional(),
            /** Client key, PEM file (mutual TLS). */
            key: z.string().min(1).optional(),
            /** Default true; false accepts any server certificate (tests only). */
            rejectUnauthorized: z.boolean().default(true),
            servername: z.string().optional(),
          })
          .strict(),
      ])
      .default(false),
    sasl: z
      .object({
        mechanism: z.enum(["plain", "scram-sha-256", "scram-sha-512"]),
        username: z.string().min(1),
        password: z.string().min(1),
      })
      .strict()
      .optional(),
    connectionTimeoutMs: z.number().int().positive().default(3_000),
    requestTimeoutMs: z.number().int().positive().default(30_000),
    sessionTimeoutMs: z.number().int().positive().default(30_000),
    /** Retries of a failed request before the error surfaces. */
    retries: z.number().int().min(0).default(5),
  })
  .strict();

export type KafkaConfig = z.infer<typeof kafkaSchema>;

/**
 * The one configuration schema. Sources, later ones winning: defaults here, `spikemesh.yaml`
 * (or --config), SPIKEMESH_* environment variables (`__` nests: SPIKEMESH_RUNNER__GUARANTEE),
 * then command-line flags. Validated once at start; every problem is printed with its path.
 */
export const configSchema = z
  .object({
    /** Where the embedded runtime keeps its log, offsets and registry. */
    dataDir: z.string().min(1).default(".spikemesh"),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** Application id: prefix of consumer groups and changelog topics. */
    appId: z
      .string()
      .regex(/^[a-zA-Z0-9._-]+$/, "letters, digits, '.', '_' and '-' only")
      .default("spikemesh"),
    /** Run on Kafka brokers instead of the embedded log (`--brokers` sets `kafka.brokers`). */
    kafka: kafkaSchema.optional(),
    registry: z
      .object({
        /** External Confluent-compatible registry; empty means the embedded one. */
        url: z.string().url().optional(),
        /** Port of the embedded registry on 127.0.0.1; 0 picks a free port. */
        port: z.number().int().min(0).max(65535).default(0),
        /**
         * Keys the embedded registry (in this process, or `spikemesh registry`) requires for writes
         * (POST, PUT, DELETE); reads stay open. Empty: open, allowed only on 127.0.0.1.
         */
        apiKeys: apiKeyListSchema.default([]),
        /** Key sent to the registry (HTTP Basic, as Confluent clients do). Default: the first of apiKeys. */
        apiKey: apiKeySchema.optional(),
      })
      .strict()
      .prefault({}),
    runner: z
      .object({
        guarantee: z.enum(["at_least_once", "exactly_once"]).default("at_least_once"),
        maxBatchRecords: z.number().int().positive().default(500),
        maxQueuedRecords: z.number().int().positive().default(5000),
        maxRetries: z.number().int().min(0).default(3),
        /** Partitions of topics the topology creates. */
        partitions: z.number().int().positive().max(1024).default(2),
        seed: z.number().int().default(42),
      })
      .strict()
      .default({
        guarantee: "at_least_once",
        maxBatchRecords: 500,
        maxQueuedRecords: 5000,
        maxRetries: 3,
        partitions: 2,
        seed: 42,
      }),
    /**
     * Per-node option overrides of the topology, by node name (`snn-filter`, `router`, `tier-phi2`,
     * ...); each is validated against that processor's options schema at start.
     */
    nodes: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Largest encoded record accepted on any topic. */
    maxRecordBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /** The host agent (`spikemesh agent`, `spikemesh demo --agent`): interval, source id, log files. */
    agent: agentOptions.prefault({}),
    /** `spikemesh worker`: id, tier, capabilities, heartbeat interval, the worker's tier options. */
    worker: workerConfigSchema.prefault({}),
    /** `spikemesh serve`: port, API keys, body limit, tiers jobs may name, dispatchers to run. */
    serve: serveConfigSchema.prefault({}),
    /** `spikemesh feedback --serve` accepts POST /feedback with these keys; `feedback --url` sends the first. */
    feedback: endpointKeysSchema.prefault({}),
    /** `spikemesh serve-model` accepts POST /v1/chat/completions with these keys. */
    serveModel: endpointKeysSchema.prefault({}),
  })
  .strict();

export type SpikemeshConfig = z.infer<typeof configSchema>;

export interface ConfigSources {
  /** Path given with --config; when absent, ./spikemesh.yaml is read if it exists. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from flags, already nested like the schema. */
  flags?: Record<string, unknown>;
}

export function loadConfig(sources: ConfigSources = {}): SpikemeshConfig {
  const fromFile = readConfigFile(sources.file);
  const fromEnv = envOverrides(sources.env ?? {});
  const merged = deepMerge(deepMerge(fromFile, fromEnv), sources.flags ?? {});
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`),
    );
  }
  return result.data;
}

function readConfigFile(file: string | undefined): Record<string, unknown> {
  const path = file ?? "spikemesh.yaml";
  if (!existsSync(path)) {
    if (file) throw new ConfigError([`--config: file not found: ${file}`]);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError([`${path}: not valid YAML: ${(err as Error).message}`]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed))
    throw new ConfigError([`${path}: must be a mapping`]);
  return parsed as Record<string, unknown>;
}

/** SPIKEMESH_DATA_DIR → dataDir, SPIKEMESH_RUNNER__MAX_RETRIES → runner.maxRetries; numbers and booleans parsed. */
export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith("SPIKEMESH_") || raw === undefined) continue;
    const path = name
      .slice("SPIKEMESH_".length)
      .split("__")
      .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
    // Other tools' SPIKEMESH_* variables (test settings, scripts) are not config: only variables
    // naming a top-level field are taken; within a field, unknown names are errors as usual.
    if (!(path[0]! in configSchema.shape)) continue;
    let node = out;
    for (const key of path.slice(0, -1)) {
      node[key] = typeof node[key] === "object" && node[key] !== null ? node[key] : {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = coerce(raw);
  }
  return out;
}

function coerce(raw: string): unknown {
  if (raw === "true") return true;
  if (raw === "false") return false;
  // Digit strings too long for a double (API keys, ids) stay text: as numbers they would lose digits.
  if (raw.trim() !== "" && Number.isFinite(Number(raw)) && !/^\s*[+-]?\d{16,}\s*$/.test(raw))
    return Number(raw);
  return raw;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const prev = out[key];
    if (isPlainObject(prev) && isPlainObject(value)) out[key] = deepMerge(prev, value);
    else out[key] = value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The resolved config for printing, secrets replaced. */
export function redactConfig(config: SpikemeshConfig): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) =>
      /password|secret|token|apikey/i.test(key) && (typeof value === "string" || Array.isArray(value))
        ? "[redacted]"
        : value,
    ),
  );
}
