import { type ZodType, z } from "zod";
import { findCycle } from "./swarm-graph.js";

/** Outputs of the conductor besides one per expert, so no expert may take these names. */
export const RESERVED_EXPERT_NAMES = ["results", "thoughts"] as const;

export const expertName = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, "must be lower-case letters, digits or '-', starting with a letter")
  .refine((n) => !(RESERVED_EXPERT_NAMES as readonly string[]).includes(n), {
    message: `${RESERVED_EXPERT_NAMES.join(" and ")} are reserved`,
  });

export const swarmRouteSchema = z.strictObject({
  from: expertName,
  to: expertName,
  /** forward (the pipeline), skip (a shortcut) or feedback (back to an earlier expert). Default forward. */
  kind: z.enum(["forward", "skip", "feedback"]).default("forward"),
  /** How strongly an answer on this route activates `to`, 0 to 1. Default 1. */
  weight: z.number().min(0).max(1).default(1),
});

export const swarmMemorySchema = z
  .strictObject({
    /**
     * Expert whose activations carry the source's memory in their context; null for none. Default:
     * the expert named "memory", when there is one.
     */
    expert: expertName.nullable().optional(),
    /** Thoughts kept per source in short-term memory. Default 50. */
    shortTermCapacity: z.number().int().min(1).default(50),
    /** Episodes kept per source in episodic memory. Default 500. */
    episodicCapacity: z.number().int().min(1).default(500),
    /** Every this many thoughts of a source, the latest are consolidated into an episode. Default 25. */
    consolidationInterval: z.number().int().min(1).default(25),
    /** Latest short-term items and episodes the memory expert is shown. Default 5. */
    recall: z.number().int().min(0).default(5),
  })
  .refine((m) => m.consolidationInterval <= m.shortTermCapacity, {
    path: ["consolidationInterval"],
    message:
      "must not exceed shortTermCapacity (the thoughts to consolidate are taken from short-term memory)",
  });

/** Options of the `swarm-conductor` processor. */
export const swarmConductorOptionsSchema = z
  .strictObject({
    /** The `tier` field of the swarm's ReasoningResults. Default "swarm". */
    tier: z.string().min(1).default("swarm"),
    /** The experts, in order (a wave lists its experts in this order), with their time limits. */
    experts: z
      .array(
        z.strictObject({
          name: expertName,
          /** Longest the expert may take per activation, ms (its ACTIVATE deadline). Default 120000. */
          timeoutMs: z.number().int().positive().default(120_000),
        }),
      )
      .min(1),
    /** Routes between experts. */
    routes: z.array(swarmRouteSchema).default([]),
    /** Experts an input activates first (wave 1, activation 1). */
    entry: z.array(expertName).min(1),
    /**
     * Experts whose answer becomes the swarm's result, by preference: the deepest answer of these wins
     * (ties: the earlier in this list). Without any, the deepest answer of any expert. Default none.
     */
    output: z.array(expertName).default([]),
    /** Most propagation waves per input; required when the routes have a cycle. Default: unlimited (acyclic routes end by themselves). */
    maxPropagationDepth: z.number().int().min(1).max(64).optional(),
    /** Only experts whose activation is at least this run; the others are skipped. Default 0.5. */
    activationThreshold: z.number().min(0).max(1).default(0.5),
    /** Wall time past the slowest expert's timeout after which a wave goes on without the missing answers, ms. Default 5000. */
    graceMs: z.number().int().min(0).default(5_000),
    /** How often waves are checked for missing answers, ms of wall time. Default 1000. */
    checkIntervalMs: z.number().int().positive().default(1_000),
    memory: swarmMemorySchema.prefault({}),
  })
  .superRefine((o, ctx) => {
    const names = o.experts.map((e) => e.name);
    const known = new Set(names);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        ctx.addIssue({ code: "custom", path: ["experts", i, "name"], message: `duplicate expert "${n}"` });
    });
    const check = (path: (string | number)[], name: string | null) => {
      if (name !== null && !known.has(name)) {
        ctx.addIssue({
          code: "custom",
          path,
          message: `unknown expert "${name}" (experts: ${names.join(", ")})`,
        });
      }
    };
    o.routes.forEach((r, i) => {
      check(["routes", i, "from"], r.from);
      check(["routes", i, "to"], r.to);
    });
    o.entry.forEach((n, i) => {
      check(["entry", i], n);
    });
    o.output.forEach((n, i) => {
      check(["output", i], n);
    });
    check(["memory", "expert"], o.memory.expert ?? null);
    if (o.maxPropagationDepth === undefined) {
      const cycle = findCycle(names, o.routes);
      if (cycle) {
        ctx.addIssue({
          code: "custom",
          path: ["maxPropagationDepth"],
          message: `required: the routes have a cycle (${cycle.join(" → ")}), so propagation needs a depth limit`,
        });
      }
    }
  });

export type SwarmConductorOptions = z.output<typeof swarmConductorOptionsSchema>;

/** Options of a `swarm-expert` processor, over the backend options schema it is built with. */
export function swarmExpertOptionsSchema<B>(backend: ZodType<B>) {
  return z.strictObject({
    /** The expert this instance serves; its input is `swarm.<expert>`; a metric label. */
    expert: expertName,
    /** What the expert is for, sent to its backend in the context (`swarm.role`). Default: the built-in role of the name. */
    role: z.string().min(1).optional(),
    /** What answers: the escalation tier's backends (rules, llama, http). */
    backend,
    /** Longest one answer may take, ms; the activation's deadline applies when sooner. Default 120000. */
    timeoutMs: z.number().int().positive().default(120_000),
  });
}

export type SwarmExpertOptions<B> = {
  expert: string;
  role?: string | undefined;
  backend: B;
  timeoutMs: number;
};

/** Options of the `swarm-intake` processor (none yet). */
export const swarmIntakeOptionsSchema = z.strictObject({});
export type SwarmIntakeOptions = z.output<typeof swarmIntakeOptionsSchema>;
