import { z } from "zod";

const ms = (fallback: number, doc: string) => z.number().positive().default(fallback).describe(doc);

/** Spike-timing-dependent plasticity on the input synapses (channel → neuron weights), off by default. */
export const stdpOptions = z.strictObject({
  enabled: z.boolean().default(false).describe("Learn the input weights of each key's population."),
  aPlus: z
    .number()
    .nonnegative()
    .default(0.01)
    .describe("Potentiation per spike: weight += aPlus · presynaptic trace of the channel."),
  aMinus: z
    .number()
    .nonnegative()
    .default(0.005)
    .describe("Depression per input: weight −= aMinus · postsynaptic trace · the channel's current."),
  tauPlusMs: ms(60_000, "Time constant of the presynaptic (input) traces."),
  tauMinusMs: ms(60_000, "Time constant of the postsynaptic (spike) traces."),
  weightMax: z.number().positive().default(2).describe("Weights stay within [0, weightMax]."),
});

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
    "Membrane time constant of the slow neurons, which integrate sustained moderate shifts.",
  ),
  thresholdBase: z.number().positive().default(1).describe("Resting firing threshold."),
  thresholdJump: z
    .number()
    .nonnegative()
    .default(0.5)
    .describe("Threshold increase per spike (homeostasis: a busy neuron gets harder to fire)."),
  jumpByIntensity: z
    .boolean()
    .default(false)
    .describe(
      "Homeostasis in proportion to the drive: a spike raises the threshold by thresholdJump × its intensity (potential over threshold, ≥ 1), as if a neuron driven r times over threshold had fired a burst of r spikes.",
    ),
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
  shunting: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe(
      "Share of a key's other neurons' potential removed when one of them fires (before inhibition); 1 = winner takes all, so one event gives one spike.",
    ),
  keyRefractoryMs: z
    .number()
    .nonnegative()
    .default(0)
    .describe(
      "After a spike, the key's other neurons also ignore input for this long, so the tail of the same event does not fire a second neuron. 0 = off.",
    ),
  statsTauMs: ms(600_000, "Time constant of the encoders' running means and variances."),
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
  seasonPeriodMs: ms(
    86_400_000,
    "Period of the seasonal baseline (a day); its bins are positions in this period of the samples' UTC time.",
  ),
  seasonBins: z
    .number()
    .int()
    .min(0)
    .max(1_024)
    .default(48)
    .describe("Bins of the seasonal baseline per period; 0 turns the seasonal encoder off."),
  weekBins: z
    .number()
    .int()
    .min(0)
    .max(2_016)
    .default(0)
    .describe(
      "Bins of a second, weekly seasonal baseline (period 7 × seasonPeriodMs); the value's surprise comes from whichever baseline predicts the key best. 0 turns it off.",
    ),
  seasonPreference: z
    .number()
    .positive()
    .default(0.5)
    .describe(
      "A seasonal residual (daily or weekly, the better one) replaces the plain z-score as the value's surprise once its mean squared error is below this share of the value's variance.",
    ),
  crossingStepSd: z
    .number()
    .positive()
    .default(1)
    .describe("Level-crossing encoder: one crossing per this many standard deviations of the value."),
  crossingWeight: z
    .number()
    .nonnegative()
    .default(0.5)
    .describe(
      "Initial weight of the level-crossing channel onto its neuron (0 silences it). Crossing counts are coarse, so at 1 the neuron fires on noise about 3x as often as the others.",
    ),
  stdp: stdpOptions.prefault({}).describe("Optional plasticity of the input synapses."),
  cadenceStepMs: z
    .number()
    .positive()
    .optional()
    .describe(
      "When set, each key's time is rescaled so that its typical spacing between samples counts as this many ms: every time constant then spans the same number of samples whether a key reports every second or every hour. Gaps still decay exactly. Unset: plain event time.",
    ),
  maxGapMs: ms(
    86_400_000,
    "A key silent longer than this (event time) starts over: its statistics and neurons reset and it warms up again.",
  ),
  maxKeys: z
    .number()
    .int()
    .positive()
    .default(1_000_000)
    .describe(
      "Keys one instance tracks; a sample of a new key beyond this is dead-lettered (too_many_keys).",
    ),
  allowedLatenessMs: z
    .number()
    .nonnegative()
    .default(60_000)
    .describe(
      "A sample older than its key's newest by at most this much is applied with Δt = 0; an older one is dead-lettered as RECORD_INVALID.",
    ),
  checkpointEveryMs: ms(
    60_000,
    "How often, in stream time, changed keys are written to the \"snn-state\" store. A key's snapshot is a few kB (seasonal bins), so frequent checkpoints dominate the pipeline's cost.",
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
 * Defaults: tauFastMs 5000, tauSlowMs 60000, thresholdBase 1, thresholdJump 0.5, jumpByIntensity
 * false, tauThresholdMs 300000, refractoryMs 2000, inhibition 0.5, shunting 0, keyRefractoryMs 0, statsTauMs 600000,
 * zDeadband 2.5, warmupSamples 30, seasonPeriodMs 86400000, seasonBins 48, weekBins 0,
 * seasonPreference 0.5, crossingStepSd 1, crossingWeight 0.5,
 * stdp off, cadenceStepMs unset, maxGapMs 86400000, maxKeys 1000000, allowedLatenessMs 60000,
 * checkpointEveryMs 60000, recentSamples 16.
 */
export type SnnFilterOptions = z.infer<typeof snnFilterOptions>;
export type StdpOptions = z.infer<typeof stdpOptions>;
