import { z } from "zod";
import { type KeyState, NEURON_ROLES } from "./telemetry-network.js";

const time = z.number().nullable();
const perNeuron = <T extends z.ZodType>(item: T) => z.array(item).length(NEURON_ROLES.length);

const statsState = z.object({
  weight: z.number(),
  mean: z.number(),
  m2: z.number(),
  count: z.number(),
  lastMs: time,
});

const seasonalState = z.object({
  firstMs: time,
  mean: z.array(z.number()),
  weight: z.array(z.number()),
  lastMs: z.array(time),
  residuals: statsState,
});

/**
 * Shape check for a key's state read back from the "snn-state" store, so a snapshot written by an
 * incompatible version or for a population of another size is dropped (the key warms up again)
 * instead of corrupting the population or failing start-up. Sizes that depend on options (seasonal
 * bins, weights) are checked again when the state is restored.
 */
export const keyStateSchema: z.ZodType<KeyState> = z.object({
  version: z.literal(2),
  clock: z.object({ lastMs: time, localMs: time, cadenceMs: time }),
  lif: z.object({
    lastMs: time,
    potential: perNeuron(z.number()),
    threshold: perNeuron(z.number()),
    refractoryUntilMs: perNeuron(time),
  }),
  level: statsState,
  change: z.object({ previous: z.number().nullable(), stats: statsState }),
  seasonal: seasonalState.nullable(),
  seasonalBasis: z.boolean(),
  // Added after version 2 was first written: optional, so older snapshots still load.
  weekly: seasonalState.nullable().optional(),
  weeklyBasis: z.boolean().optional(),
  crossing: z.object({ reference: z.number().nullable(), counts: statsState }),
  synapses: z.object({
    lastMs: time,
    weights: z.array(z.number()).nullable(),
    pre: z.array(z.number()),
    post: z.array(z.number()),
  }),
  recent: z.array(z.number()),
});
