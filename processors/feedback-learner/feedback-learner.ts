import type { Counter, Gauge } from "prom-client";
import { type Feedback, type RouteWeight, recordTypes } from "../../schemas/index.js";
import {
  counter,
  gauge,
  LabelValues,
  OTHER_LABEL,
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
/** Route ids are names such as `single->phi2`; anything else is not a route (and never a label value). */
const ROUTE_NAME = /^[\x21-\x7e]{1,128}$/;

/**
 * Turns Feedback into route weights with the STDP-like rule of stdp.ts and publishes each new weight
 * to the compacted `route-weights` topic (key = route), which the router reads as its `weights`
 * table. Feedback is keyed by route, so one instance owns each route's weight.
 */
class FeedbackLearner implements Processor<Feedback, FeedbackLearnerOutputs> {
  private updates!: Counter<"route" | "outcome">;
  private weight!: Gauge<"route">;
  /** The first 64 routes are label values; more are counted as "other" (the store keeps them all). */
  private readonly routeLabels = new LabelValues();

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
    if (!ROUTE_NAME.test(fb.route)) {
      throw new SpikemeshError(
        "RECORD_INVALID",
        `feedback route must be 1 to 128 printable ASCII characters without spaces; got ${fb.route.length} characters starting ${JSON.stringify(fb.route.slice(0, 32))}`,
        { context: { field: "route" } },
      );
    }
    const store = ctx.store<RouteState>(STORE);
    const previous = store.get(fb.route);
    if (previous === undefined && store.size >= this.opts.maxRoutes) {
      throw new SpikemeshError(
        "RECORD_INVALID",
        `feedback for route ${fb.route} would be route ${store.size + 1} of this instance, beyond maxRoutes (${this.opts.maxRoutes})`,
        { context: { field: "route" } },
      );
    }
    const next = applyFeedback(
      previous,
      { outcome: fb.outcome, latencyMs: fb.latencyMs, tsMs: fb.ts },
      this.opts,
    );
    store.put(fb.route, next);
    const route = this.routeLabels.of(fb.route);
    this.updates.inc({ route, outcome: fb.outcome });
    if (route !== OTHER_LABEL) this.weight.set({ route }, next.weight);
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
