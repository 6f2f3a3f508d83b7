import { z } from "zod";

/** Options of the `feedbackLearner` processor; the rule itself is in stdp.ts. */
export const feedbackLearnerOptionsSchema = z
  .strictObject({
    /** Strengthening of a USEFUL answer at zero latency. Default 0.1. */
    aPlus: z.number().min(0).default(0.1),
    /** Weakening on ERROR and TIMEOUT. Default 0.1. */
    aMinus: z.number().min(0).default(0.1),
    /** Weakening on NOT_USEFUL. Default 0.02. */
    aNotUseful: z.number().min(0).default(0.02),
    /** Latency scale of the strengthening, ms. Default 10000. */
    tauMs: z.number().positive().default(10_000),
    /** Lower bound of a weight. Default 0. */
    wMin: z.number().default(0),
    /** Upper bound of a weight. Default 1. */
    wMax: z.number().default(1),
    /** Weight a new route starts at and every weight relaxes toward (the router's defaultWeight). Default 0.5. */
    baseline: z.number().default(0.5),
    /** Time constant of the relaxation toward baseline, ms of event time. Default 3600000 (1 h). */
    decayTauMs: z.number().positive().default(3_600_000),
    /**
     * Routes one instance keeps weights for; feedback for a new route beyond them is dead-lettered
     * (RECORD_INVALID), so feedback naming endless routes cannot grow the store. Default 1000.
     */
    maxRoutes: z.number().int().positive().default(1000),
  })
  .superRefine((o, ctx) => {
    if (o.wMin >= o.wMax)
      ctx.addIssue({ code: "custom", path: ["wMax"], message: "must be greater than wMin" });
    if (o.baseline < o.wMin || o.baseline > o.wMax) {
      ctx.addIssue({ code: "custom", path: ["baseline"], message: "must lie within [wMin, wMax]" });
    }
  });

export type FeedbackLearnerOptions = z.output<typeof feedbackLearnerOptionsSchema>;
