import { z } from "zod";
import { templateMinerOptions } from "./template-miner.js";

/**
 * Keys of the "snn-log-state" store: the miner's header, one entry per template and one per
 * source. Values are plain JSON, checked with the schemas below when read back.
 */
export const MINER_KEY = "miner";
export const TEMPLATE_PREFIX = "template/";
export const SOURCE_PREFIX = "source/";

const time = z.number().nullable();

export const minerHeaderSchema = z.object({
  version: z.literal(1),
  options: templateMinerOptions,
  nextId: z.number().int().positive(),
  seq: z.number().int().nonnegative(),
});

export const templateStateSchema = z.object({
  id: z.number().int().positive(),
  path: z.array(z.string()),
  tokens: z.array(z.string()),
  count: z.number().int().positive(),
  lastSeq: z.number().int().nonnegative(),
});

export const logSourceStateSchema = z.object({
  version: z.literal(1),
  lif: z.object({
    lastMs: time,
    potential: z.array(z.number()),
    threshold: z.array(z.number()),
    refractoryUntilMs: z.array(time),
  }),
  rates: z.object({
    lastMs: time,
    lines: z.number().int().nonnegative(),
    total: z.tuple([z.number(), z.number(), z.number(), z.number(), z.number().int()]),
    templates: z.array(
      z.tuple([z.number().int(), z.number(), z.number(), z.number(), z.number(), z.number().int()]),
    ),
  }),
});
