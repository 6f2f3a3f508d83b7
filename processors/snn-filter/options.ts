import { z } from "zod";

const ms = (fallback: number, doc: string) => z.number().positive().default(fallback).describe(doc);

/**
 * Options of the SNN filter, with their defaults. Every duration is milliseconds of event time (the
 * samples' `ts`), never wall time. Potentials, thresholds and input currents share one unit: one
 * unit of current is one standard deviation of surprise beyond `zDeadband`.
 */
export const snnFilterOptions = z.strictObject({
  tauFastMs: ms(
    5_000,
    "Membrane time constant of the fast neurons, which react to single surprising samples.",
  ),
  tauSlowMs: ms(
    60_000,
    "Membrane time constant of the slow neuron, which integrates sustained moderate shifts.",
  ),
  thresholdBase: z.number().positive().default(1).describe("Resting firing threshold."),
  thresholdJump: z
    .number()
    .nonnegative()
    .default(0.5)
    .describe("Threshold increase per spike (homeostasis)."),
  tauThresholdMs: ms(300_000, "Time constant with which a raised threshold relaxes back to its base."),
  refractoryMs: z
    .number()
    .nonnegative()
    .default(2_000)
    .describe("A neuron that fired ignores input for this long."),
  inhibition: z
    .number()
    .nonnegative()
    .default(0.5)
    .describe("Subtracted from the potentials of a key's other neurons when one of them fires."),
  statsTauMs: ms(600_000, "Time constant of the encoders' running mean and variance."),
  zDeadband: z
    .number()
    .nonnegative()
    .default(2.5)
    .describe("Standard scores up to this magnitude are normal and drive no current."),
  warmupSamples: z
    .number()
    .int()
    .nonnegative()
    .default(30)
    .describe("Samples per key that only train the encoders; no spike can come earlier."),
  allowedLatenessMs: z
    .number()
    .nonnegative()
    .default(60_000)
    .describe(
      "A sample older than its key's newest by at most this much is applied with Δt = 0; an older one is dead-lettered as RECORD_INVALID.",
    ),
  checkpointEveryMs: ms(
    10_000,
    'How often, in stream time, changed keys are written to the "snn-state" store.',
  ),
  recentSamples: z
    .number()
    .int()
    .positive()
    .max(1_024)
    .default(16)
    .describe("Values per key kept for the min/max/mean in a spike's payload."),
});

/**
 * Defaults: tauFastMs 5000, tauSlowMs 60000, thresholdBase 1, thresholdJump 0.5, tauThresholdMs
 * 300000, refractoryMs 2000, inhibition 0.5, statsTauMs 600000, zDeadband 2.5, warmupSamples 30,
 * allowedLatenessMs 60000, checkpointEveryMs 10000, recentSamples 16.
 */
export type SnnFilterOptions = z.infer<typeof snnFilterOptions>;
