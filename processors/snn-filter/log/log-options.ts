import { z } from "zod";
import { snnFilterOptions } from "../options.js";
import { templateMinerOptions } from "./template-miner.js";

const ms = (fallback: number, doc: string) => z.number().positive().default(fallback).describe(doc);

/**
 * Options of the SNN log filter, with their defaults. Durations are milliseconds of event time (the
 * lines' `ts`). The neuron parameters mean what they mean in the telemetry filter.
 */
export const snnLogFilterOptions = snnFilterOptions
  .pick({
    tauFastMs: true,
    tauSlowMs: true,
    thresholdBase: true,
    thresholdJump: true,
    tauThresholdMs: true,
    refractoryMs: true,
    inhibition: true,
    allowedLatenessMs: true,
    checkpointEveryMs: true,
  })
  .extend({
    miner: templateMinerOptions
      .prefault({})
      .describe("The template miner (Drain) shared by the sources of a partition."),
    rateFastTauMs: ms(60_000, "Time constant of the recent line counts per template and per source."),
    rateSlowTauMs: ms(3_600_000, "Time constant of the long-run counts the recent ones are compared with."),
    rateDeadband: z
      .number()
      .positive()
      .default(4)
      .describe(
        "Rate score of the first level: (recent - expected) / √max(expected, 1) lines, so 4 is about four Poisson standard deviations. A template (or the source) reaching it, and each doubling of it, is news once; it re-arms below half of it.",
      ),
    eventCurrent: z
      .number()
      .nonnegative()
      .default(2)
      .describe(
        "Current one piece of news (a never-seen template, a rate level crossed) drives into its neuron: twice the resting threshold, so it fires unless refractory or recently busy.",
      ),
    warmupLines: z
      .number()
      .int()
      .nonnegative()
      .default(100)
      .describe("Lines per source that only train the miner and the counts; no spike can come earlier."),
    maxTemplatesPerSource: z
      .number()
      .int()
      .positive()
      .default(1_000)
      .describe("Templates whose counts a source keeps; the least recently seen beyond this is forgotten."),
    maxSources: z
      .number()
      .int()
      .positive()
      .default(100_000)
      .describe(
        "Sources one instance tracks; a line of a new source beyond this is dead-lettered (too_many_keys).",
      ),
    maxLineBytes: z
      .number()
      .int()
      .positive()
      .default(16_384)
      .describe("A message longer than this (UTF-8 bytes) is dead-lettered (too_long) instead of mined."),
    maxPayloadTextChars: z
      .number()
      .int()
      .min(16)
      .default(1_000)
      .describe("The template and example line in a spike's payload are cut to this many characters."),
  });

/**
 * Defaults: the telemetry filter's neuron defaults (tauFastMs 5000, tauSlowMs 60000, thresholdBase
 * 1, thresholdJump 0.5, tauThresholdMs 300000, refractoryMs 2000, inhibition 0.5, allowedLatenessMs
 * 60000, checkpointEveryMs 60000), miner defaults (depth 4, similarity 0.4, maxChildren 100,
 * maxTemplates 10000, all masks), rateFastTauMs 60000, rateSlowTauMs 3600000, rateDeadband 4,
 * eventCurrent 2, warmupLines 100, maxTemplatesPerSource 1000, maxSources 100000, maxLineBytes
 * 16384, maxPayloadTextChars 1000.
 */
export type SnnLogFilterOptions = z.infer<typeof snnLogFilterOptions>;
