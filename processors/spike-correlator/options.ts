import { z } from "zod";

/** Options of the spike correlator; durations are ms of event time. */
export const spikeCorrelatorOptions = z.strictObject({
  windowMs: z
    .number()
    .positive()
    .default(30_000)
    .describe("Sensor spikes at most this far apart belong to one episode."),
  minSources: z
    .number()
    .int()
    .min(2)
    .default(2)
    .describe("Distinct sources spiking within windowMs that make a correlated spike."),
  cooldownMs: z
    .number()
    .nonnegative()
    .default(300_000)
    .describe("After a correlated spike, the next one needs this much event time or a new source."),
  maxSpikes: z
    .number()
    .int()
    .positive()
    .default(1_000)
    .describe("Spikes held in the window at most (oldest dropped first)."),
});

/** Defaults: windowMs 30000, minSources 2, cooldownMs 300000, maxSpikes 1000. */
export type SpikeCorrelatorOptions = z.infer<typeof spikeCorrelatorOptions>;
