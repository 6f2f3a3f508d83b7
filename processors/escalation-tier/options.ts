import { z } from "zod";
import { rulesBackendOptionsSchema } from "./rules-backend.js";

/** Backend options, one variant per `kind`; LLM backends (llama, http) join this union. */
export const backendOptionsSchema = z.discriminatedUnion("kind", [rulesBackendOptionsSchema]);

export type BackendOptions = z.output<typeof backendOptionsSchema>;

/** Options of the `escalationTier` processor. */
export const escalationTierOptionsSchema = z.strictObject({
  /** Tier this worker serves (its input topic is `escalations.<tier>`); a metric label. Default "rules". */
  tier: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, "must be lower-case letters, digits or '-'")
    .default("rules"),
  /** What answers the requests. Default `{ kind: "rules" }`. */
  backend: backendOptionsSchema.prefault({ kind: "rules" }),
  /** Longest `error` text a result carries, characters. Default 500. */
  maxErrorChars: z.number().int().positive().default(500),
});

export type EscalationTierOptions = z.output<typeof escalationTierOptionsSchema>;
