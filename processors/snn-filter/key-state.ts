import { z } from "zod";
import type { KeyState } from "./telemetry-network.js";

const time = z.number().nullable();

const statsState = z.object({
  weight: z.number(),
  mean: z.number(),
  m2: z.number(),
  count: z.number(),
  lastMs: time,
});

/**
 * Shape check for a key's state read back from the "snn-state" store, so a snapshot written by an
 * incompatible version is dropped (the key warms up again) instead of corrupting the population.
 */
export const keyStateSchema: z.ZodType<KeyState> = z.object({
  version: z.literal(1),
  lif: z.object({
    lastMs: time,
    potential: z.array(z.number()),
    threshold: z.array(z.number()),
    refractoryUntilMs: z.array(time),
  }),
  level: statsState,
  change: z.object({ previous: z.number().nullable(), stats: statsState }),
  recent: z.array(z.number()),
});
