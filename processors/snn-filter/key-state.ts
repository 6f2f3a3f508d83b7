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

/**
 * Shape check for a key's state read back from the "snn-state" store, so a snapshot written by an
 * incompatible version or for a population of another size is dropped (the key warms up again)
 * instead of corrupting the population or failing start-up.
 */
export const keyStateSchema: z.ZodType<KeyState> = z.object({
  version: z.literal(1),
  lif: z.object({
    lastMs: time,
    potential: perNeuron(z.number()),
    threshold: perNeuron(z.number()),
    refractoryUntilMs: perNeuron(time),
  }),
  level: statsState,
  change: z.object({ previous: z.number().nullable(), stats: statsState }),
  recent: z.array(z.number()),
});
