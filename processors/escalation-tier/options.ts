import { z } from "zod";
import { httpBackendOptionsSchema } from "./http-backend.js";
import { llamaBackendOptionsSchema } from "./llama-backend.js";
import { recordedBackendOptionsSchema } from "./recorded-backend.js";
import { rulesBackendOptionsSchema } from "./rules-backend.js";

/**
 * Backend options, one variant per `kind`: rules, llama (node-llama-cpp, local GGUF), http
 * (OpenAI-compatible), recorded (an earlier run's results from a recording).
 */
export const backendOptionsSchema = z.discriminatedUnion("kind", [
  rulesBackendOptionsSchema,
  llamaBackendOptionsSchema,
  httpBackendOptionsSchema,
  recordedBackendOptionsSchema,
]);

export type BackendOptions = z.output<typeof backendOptionsSchema>;

const tierName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "must be lower-case letters, digits or '-'");

/** Options of the `escalationTier` processor. */
export const escalationTierOptionsSchema = z
  .strictObject({
    /** Tier this worker serves (its input topic is `escalations.<tier>`); a metric label. Default "rules". */
    tier: tierName.default("rules"),
    /** What answers the requests. Default `{ kind: "rules" }`. */
    backend: backendOptionsSchema.prefault({ kind: "rules" }),
    /** Longest `error` text a result carries, characters. Default 500. */
    maxErrorChars: z.number().int().positive().default(500),
    /**
     * Longest one request may take in this tier, retries included, ms (the request's own deadline
     * applies when it is sooner). Default 120000.
     */
    timeoutMs: z.number().int().positive().default(120_000),
    /** Attempts per request on retriable failures, the first included. Default 3. */
    maxAttempts: z.number().int().min(1).max(20).default(3),
    /** Backoff before the first retry, ms; doubles per retry, full jitter. Default 200. */
    backoffBaseMs: z.number().int().min(0).default(200),
    /** Longest backoff, ms. Default 5000. */
    backoffMaxMs: z.number().int().min(0).default(5000),
    /** Circuit breaker of the backend. */
    breaker: z
      .strictObject({
        /** Consecutive failed calls (timeouts included) that open it. Default 5. */
        failureThreshold: z.number().int().min(1).default(5),
        /** How long it stays open before one trial call, ms. Default 30000. */
        openMs: z.number().int().min(0).default(30_000),
      })
      .prefault({}),
    /**
     * Tier that gets the request when this one cannot answer (error, timeout, open breaker), as a
     * new request on `escalations.<fallbackTier>` (the topology binds the `fallback` output there).
     * The failed result is still emitted, so feedback sees the failure. Default null (none).
     */
    fallbackTier: tierName.nullable().default(null),
    /**
     * Deeper tier that also gets the case when this tier's verdict is ESCALATE or says novel or
     * correlated (the `handUp` output). Default null (none).
     */
    handUpTier: tierName.nullable().default(null),
    /** Requests already handed on this many times are not handed on again (no loops). Default 1. */
    maxDepth: z.number().int().min(0).default(1),
  })
  .superRefine((o, ctx) => {
    for (const field of ["fallbackTier", "handUpTier"] as const) {
      if (o[field] === o.tier)
        ctx.addIssue({ code: "custom", path: [field], message: "must name another tier than `tier`" });
    }
  });

export type EscalationTierOptions = z.output<typeof escalationTierOptionsSchema>;
