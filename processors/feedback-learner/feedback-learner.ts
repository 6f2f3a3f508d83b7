import type { Counter, Gauge } from "prom-client";
import { type Feedback, type RouteWeight, recordTypes } from "../../schemas/index.js";
import {
  counter,
  gauge,
  type Processor,
  type ProcessorContext,
  type ProcessorSpec,
  type Rec,
  SpikemeshError,
} from "../../streams/index.js";
import { type FeedbackLearnerOptions, feedbackLearnerOptionsSchema } from "./options.js";
import { applyFeedback, type RouteState } from "./stdp.js";

export type FeedbackLearnerOutputs = { weights: RouteWeight };

type Ctx = ProcessorContext<FeedbackLearnerOutputs>;

const STORE = "route-weights";

/**
 * Turns Feedback into route weights with the STDP-like rule of stdp.ts and publishes each new weight
 * to the compacted `route-weights` topic (key = route), which the router reads as its `weights`
 * table. Feedback is keyed by route, so one instance owns each route's weight.
 */
class FeedbackLearner implements Processor<Feedback, FeedbackLearnerOutputs> {
  private updates!: Counter<"route" | "outcome">;
  private weight!: Gauge<"route">;

  constructor(private readonly opts: FeedbackLearnerOptions) {}

  init(ctx: Ctx): void {
    this.updates = counter(ctx.metrics, {
      name: "spikemesh_feedback_learner_updates_total",
      help: "Feedback absorbed into route weights, by route and outcome",
      labelNames: ["route", "outcome"],
    });
    this.weight = gauge(ctx.metrics, {
      name: "spikemesh_feedback_learner_route_weight",
      help: "Current weight of each route (dimensionless)",
      labelNames: ["route"],
    });
  }

  process(rec: Rec<Feedback>, ctx: Ctx): void {
    const fb = rec.value;
    if (!Number.isFinite(fb.latencyMs) || fb.latencyMs < 0) {
      throw new SpikemeshError(
        "RECORD_INVALID",
        `feedback for route ${fb.route}: latencyMs must be finite and >= 0`,
        {
          context: { field: "latencyMs" },
        },
      );
    }
    const store = ctx.store<RouteState>(STORE);
    const next = applyFeedback(
      store.get(fb.route),
      { outcome: fb.outcome, latencyMs: fb.latencyMs, tsMs: fb.ts },
      this.opts,
    );
    store.put(fb.route, next);
    this.updates.inc({ route: fb.route, outcome: fb.outcome });
    this.weight.set({ route: fb.route }, next.weight);
    const weight: RouteWeight = {
      route: fb.route,
      weight: next.weight,
      updates: next.updates,
      ts: next.lastMs,
    };
    ctx.forward("weights", { key: fb.route, value: weight, timestampMs: rec.timestampMs, headers: {} });
  }
}

/** The `feedbackLearner` processor: Feedback in, RouteWeight out (key = route). */
export const feedbackLearnerSpec: ProcessorSpec<Feedback, FeedbackLearnerOutputs, FeedbackLearnerOptions> = {
  name: "feedbackLearner",
  input: recordTypes.Feedback,
  outputs: { weights: recordTypes.RouteWeight },
  stores: [STORE],
  options: feedbackLearnerOptionsSchema,
  create: (opts) => new FeedbackLearner(opts),
};
