import { z } from "zod";
import { catalogueSchema } from "./catalogue.js";

/** Options of the `router` processor; defaults and units live here. */
export const routerOptionsSchema = z.strictObject({
  /** Length of the tumbling event-time windows spikes are collected in, ms. Default 5000. */
  windowMs: z.number().int().positive().default(5_000),
  /** How long after its end a window still takes out-of-order spikes, ms of event time. Default 0. */
  graceMs: z.number().int().min(0).default(0),
  /**
   * When no spike arrived for this much wall time, open windows are flushed without waiting for event
   * time to pass their end (spikes are rare, so event time can stall). 0 turns it off. Default 10000.
   */
  idleFlushMs: z.number().int().min(0).default(10_000),
  /** Spikes kept per source window (for matching and the request); more are counted only. Default 32. */
  maxSpikesPerWindow: z.number().int().positive().default(32),
  /** Known failure modes, checked in order; entries of `cataloguePath` follow these. Default none. */
  catalogue: catalogueSchema.default([]),
  /** A catalogue YAML file (`entries: [...]`) loaded at start, e.g. topologies/catalogue.yaml. */
  cataloguePath: z.string().min(1).optional(),
  /** Softmax temperature over route weights; lower is greedier. Default 0.2. */
  temperature: z.number().positive().default(0.2),
  /** Exploration floor: each of the n model tiers gets at least epsilon / n probability. Default 0.05. */
  epsilon: z.number().positive().max(1).default(0.05),
  /** Weight of a route the `weights` table has no entry for (keep equal to the learner's baseline). Default 0.5. */
  defaultWeight: z.number().default(0.5),
  /** Added to each tier's weight before the softmax: a standing preference for the small model. */
  tierPrior: z
    .strictObject({
      /** Default 0.2. */
      phi2: z.number().default(0.2),
      /** Default 0. */
      deepseek: z.number().default(0),
    })
    .prefault({}),
  /** A window is correlated when at least this many sources spiked in it. Default 2. */
  correlationMinSources: z.number().int().min(2).default(2),
  /** Added to deepseek's weight (before the softmax) for correlated cases. Default 0.4. */
  correlationBias: z.number().min(0).default(0.4),
  /** No new request for a source until this much event time after its last one, ms. Default 60000. */
  incidentCooldownMs: z.number().int().min(0).default(60_000),
  /** Sustained requests per source per minute of event time. Default 6. */
  rateLimitPerMinute: z.number().positive().default(6),
  /** Requests a source may make back to back. Default 3. */
  rateLimitBurst: z.number().int().positive().default(3),
  /** A request's deadline is its ts plus this, ms. Default 30000. */
  deadlineMs: z.number().int().positive().default(30_000),
});

export type RouterOptions = z.output<typeof routerOptionsSchema>;

/** The model tiers the router samples between, in output order. */
export const MODEL_TIERS = ["phi2", "deepseek"] as const;
export type ModelTier = (typeof MODEL_TIERS)[number];
