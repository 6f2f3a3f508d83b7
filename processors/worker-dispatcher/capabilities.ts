import { z } from "zod";
import type { WorkerHeartbeat } from "../../schemas/index.js";

/** What a worker can run, as it advertises it in its heartbeats. */
export interface WorkerCapabilities {
  /** Model the worker runs, e.g. "phi2" or "deepseek-r1-7b". */
  model: string;
  /** Parameters of the model in billions; 0 when unknown. */
  paramsB: number;
  /** Memory for models, GB (VRAM on a GPU). */
  memoryGb: number;
  /** Model formats the worker loads, lower case, e.g. ["gguf"]. */
  formats: string[];
  gpu: boolean;
  /** Requests answered at once. */
  concurrency: number;
}

/**
 * What a request needs of the worker that answers it; every field is optional and an absent one
 * matches any worker. Carried in the request's context JSON as `requires`.
 */
export const jobRequirementsSchema = z.strictObject({
  /** Exact model name (case-insensitive). */
  model: z.string().min(1).optional(),
  /** Smallest model size, billions of parameters. */
  minParamsB: z.number().nonnegative().optional(),
  /** Least memory the worker must have, GB. */
  minMemoryGb: z.number().nonnegative().optional(),
  /** A model format the worker must load, e.g. "gguf". */
  format: z.string().min(1).optional(),
  /** true: only GPU workers; false or absent: any worker. */
  gpu: z.boolean().optional(),
});

export type JobRequirements = z.output<typeof jobRequirementsSchema>;

/** Parses a model size: `2.7b`, `7B`, `350m`, `1.5t` or a number of billions. */
export function parseParamsB(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmbt]?)\s*$/i.exec(value);
  if (!match) return undefined;
  const scale: Record<string, number> = { "": 1, k: 1e-6, m: 1e-3, b: 1, t: 1e3 };
  return Number(match[1]) * scale[match[2]!.toLowerCase()]!;
}

/** The capabilities a heartbeat advertises. */
export function capabilitiesOf(heartbeat: WorkerHeartbeat): WorkerCapabilities {
  return {
    model: heartbeat.model,
    paramsB: heartbeat.paramsB,
    memoryGb: heartbeat.memoryGb,
    formats: heartbeat.formats,
    gpu: heartbeat.gpu,
    concurrency: heartbeat.concurrency,
  };
}

/**
 * Why a worker with `caps` cannot run a request needing `needs`: one short reason per unmet
 * requirement, none when it can.
 */
export function unmetRequirements(caps: WorkerCapabilities, needs: JobRequirements): string[] {
  const reasons: string[] = [];
  if (needs.model !== undefined && caps.model.toLowerCase() !== needs.model.toLowerCase()) {
    reasons.push(`model ${caps.model}, not ${needs.model}`);
  }
  if (needs.minParamsB !== undefined && caps.paramsB < needs.minParamsB) {
    reasons.push(`${caps.paramsB}B params < ${needs.minParamsB}B`);
  }
  if (needs.minMemoryGb !== undefined && caps.memoryGb < needs.minMemoryGb) {
    reasons.push(`${caps.memoryGb} GB < ${needs.minMemoryGb} GB`);
  }
  if (
    needs.format !== undefined &&
    !caps.formats.some((f) => f.toLowerCase() === needs.format!.toLowerCase())
  ) {
    reasons.push(`no ${needs.format} format (has ${caps.formats.join("|") || "none"})`);
  }
  if (needs.gpu === true && !caps.gpu) reasons.push("no GPU");
  return reasons;
}

export function canRun(caps: WorkerCapabilities, needs: JobRequirements): boolean {
  return unmetRequirements(caps, needs).length === 0;
}

/** `requires` as text for messages, e.g. "model=deepseek, gpu, memoryGb>=20"; "anything" when empty. */
export function describeRequirements(needs: JobRequirements): string {
  const parts: string[] = [];
  if (needs.model !== undefined) parts.push(`model=${needs.model}`);
  if (needs.minParamsB !== undefined) parts.push(`params>=${needs.minParamsB}B`);
  if (needs.minMemoryGb !== undefined) parts.push(`memoryGb>=${needs.minMemoryGb}`);
  if (needs.format !== undefined) parts.push(`format=${needs.format}`);
  if (needs.gpu === true) parts.push("gpu");
  return parts.length > 0 ? parts.join(", ") : "anything";
}

export type RequirementsParse = { ok: true; requires: JobRequirements } | { ok: false; reason: string };

/**
 * The `requires` of a request's context JSON. A context that is not a JSON object, or has no
 * `requires`, needs nothing; a `requires` that is not a valid requirements object is an error
 * naming the field.
 */
export function requirementsOf(context: string): RequirementsParse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(context === "" ? "{}" : context);
  } catch {
    return { ok: true, requires: {} };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return { ok: true, requires: {} };
  const raw = (parsed as Record<string, unknown>).requires;
  if (raw === undefined || raw === null) return { ok: true, requires: {} };
  const result = jobRequirementsSchema.safeParse(raw);
  if (result.success) return { ok: true, requires: result.data };
  const issue = result.error.issues[0]!;
  const path = ["requires", ...issue.path.map(String)].join(".");
  return { ok: false, reason: `context.${path}: ${issue.message}` };
}
