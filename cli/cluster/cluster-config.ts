import { hostname } from "node:os";
import { z } from "zod";
import { parseParamsB, type WorkerCapabilities } from "../../processors/index.js";
import { ConfigError } from "../../streams/index.js";

const tierName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "must be lower-case letters, digits or '-'");
const workerId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "1-64 letters, digits, '.', '_' or '-'");

/** A list given as YAML list or as one string separated by `|` or `,`. */
const stringList = z.preprocess(
  (v) =>
    typeof v === "string"
      ? v
          .split(/[|,]/)
          .map((s) => s.trim())
          .filter((s) => s !== "")
      : v,
  z.array(z.string().min(1)),
);

/** What a worker advertises (`--capabilities k=v,...` or `worker.capabilities`). */
export const workerCapabilitiesSchema = z.strictObject({
  /** Model the worker runs, e.g. phi2 or deepseek-r1-7b: requests can ask for it by name. */
  model: z.string().min(1),
  /** Model size: `2.7b`, `7B`, `350m`, or billions as a number. Default 0 (unknown). */
  params: z
    .union([z.number(), z.string()])
    .refine((v) => parseParamsB(v) !== undefined, "a size like 2.7b, 7B, 350m, or a number of billions")
    .default(0),
  /** Memory the worker has for models, GB (VRAM on a GPU). */
  memoryGb: z.number().positive(),
  /** Model formats the worker loads, e.g. gguf or gguf|onnx. Default gguf. */
  formats: stringList.default(["gguf"]),
  /** Whether models run on a GPU. Default false. */
  gpu: z.boolean().default(false),
  /** Requests answered at once (give the assignments topic at least as many partitions). Default 1. */
  concurrency: z.number().int().min(1).max(256).default(1),
});

/** The `worker` section of the configuration (`spikemesh worker`); flags override it. */
export const workerConfigSchema = z.strictObject({
  /** Worker id, unique in the cluster. Default `<host>-<pid>`. */
  id: workerId.optional(),
  /** Tier the worker answers. */
  tier: tierName.optional(),
  /** Milliseconds between heartbeats. Default 2000. */
  heartbeatMs: z.number().int().min(50).max(600_000).default(2_000),
  capabilities: z.record(z.string(), z.unknown()).optional(),
  /** The worker's escalation tier options: backend, timeoutMs, retries, breaker, fallbackTier, ... */
  options: z.record(z.string(), z.unknown()).default({}),
  /** Options of the tier's dispatcher when this process also runs it (`--dispatcher`). */
  dispatcher: z.record(z.string(), z.unknown()).default({}),
});

export type WorkerConfig = z.output<typeof workerConfigSchema>;

/** A list given as YAML list or as one comma-separated string (as environment variables give it). */
const commaList = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      typeof v === "string"
        ? v
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "")
        : v,
    z.array(item),
  );

const apiKeyList = commaList(z.string().min(16, "an API key must have at least 16 characters"));

/** The `serve` section of the configuration (`spikemesh serve`); flags override it. */
export const serveConfigSchema = z.strictObject({
  /** TCP port. Default 8088. */
  port: z.number().int().min(0).max(65_535).default(8_088),
  /** Interface to listen on. Default 127.0.0.1. */
  host: z.string().min(1).default("127.0.0.1"),
  /**
   * Accepted API keys (`Authorization: Bearer <key>` or `X-API-Key`), at least 16 characters each;
   * `SPIKEMESH_SERVE__API_KEYS=k1,k2` in the environment. Requests without a valid key get 401.
   */
  apiKeys: apiKeyList.default([]),
  /** Largest request body, bytes; larger ones get 413. Default 1048576. */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** Tiers jobs may name. Default rules, phi2, deepseek. */
  tiers: commaList(tierName)
    .refine((t) => t.length > 0, "at least one tier")
    .default(["rules", "phi2", "deepseek"]),
  /** A job's deadline when it names none, ms from submission. Default 120000. */
  jobTimeoutMs: z.number().int().positive().default(120_000),
  /** Jobs whose progress is kept for GET /jobs/<id>; the oldest are forgotten first. Default 10000. */
  maxJobs: z.number().int().min(1).default(10_000),
  /** Tiers whose dispatcher runs in this process (requests of these tiers go to their workers). */
  dispatch: commaList(tierName).default([]),
});

export type ServeConfig = z.output<typeof serveConfigSchema>;

/** The worker's capabilities from config and flag; problems name their field. */
export function resolveCapabilities(
  raw: Record<string, unknown> | undefined,
  field: string,
): WorkerCapabilities {
  if (raw === undefined) {
    throw new ConfigError([
      `${field}: required, e.g. --capabilities model=phi2,params=2.7b,memoryGb=8,formats=gguf,gpu=false,concurrency=4`,
    ]);
  }
  const parsed = workerCapabilitiesSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${[field, ...i.path.map(String)].join(".")}: ${i.message}`),
    );
  }
  const c = parsed.data;
  return {
    model: c.model,
    paramsB: parseParamsB(c.params) ?? 0,
    memoryGb: c.memoryGb,
    formats: c.formats.map((f) => f.toLowerCase()),
    gpu: c.gpu,
    concurrency: c.concurrency,
  };
}

/**
 * `model=phi2,params=2.7b,memoryGb=8,formats=gguf|onnx,gpu=false,concurrency=4` as an object:
 * numbers and booleans parsed, the rest strings (the schema then checks each field).
 */
export function parseCapabilitiesArg(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of text.split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new ConfigError([`--capabilities: "${pair}" is not key=value`]);
    }
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (key in out) throw new ConfigError([`--capabilities.${key}: given twice`]);
    out[key] =
      value === "true"
        ? true
        : value === "false"
          ? false
          : value !== "" && Number.isFinite(Number(value))
            ? Number(value)
            : value;
  }
  return out;
}

/** Default worker id: host name and process id. */
export function defaultWorkerId(): string {
  return `${hostname()
    .replace(/[^A-Za-z0-9._-]/g, "-")
    .slice(0, 48)}-${process.pid}`;
}
