import type { Counter } from "prom-client";
import { type ControlAction, type Feedback, type ReasoningResult, recordTypes } from "../../schemas/index.js";
import {
  counter,
  LabelValues,
  type Processor,
  type ProcessorContext,
  type ProcessorSpec,
  type Rec,
} from "../../streams/index.js";
import { feedbackFor } from "./feedback-mapping.js";
import { type ControlSinkOptions, controlSinkOptionsSchema } from "./options.js";

export type ControlSinkOutputs = { control: ControlAction; feedback: Feedback };

type Ctx = ProcessorContext<ControlSinkOutputs>;

/** Verdicts that may lead to an action; ESCALATE hands the case on rather than acting on it. */
const ACTIONABLE = new Set(["ANOMALY", "INCIDENT"]);

/**
 * The end of the loop: one Feedback per result (key = route) and, for a confident ANOMALY or
 * INCIDENT without error whose suggested action is on the whitelist, one ControlAction (key =
 * target = the result's source). The action name is the only thing taken from the result, and only
 * when it equals a whitelisted name; parameters and reason are built from structured fields, so text
 * that came from telemetry or logs never becomes an instruction.
 */
class ControlSink implements Processor<ReasoningResult, ControlSinkOutputs> {
  private readonly allowed: ReadonlySet<string>;
  /** Tier names come from the results: bounded before they become label values. */
  private readonly tierLabels = new LabelValues();
  private results!: Counter<"tier" | "verdict">;
  private actions!: Counter<"outcome">;
  private feedback!: Counter<"outcome">;

  constructor(private readonly opts: ControlSinkOptions) {
    this.allowed = new Set(opts.allowedActions);
  }

  init(ctx: Ctx): void {
    this.results = counter(ctx.metrics, {
      name: "spikemesh_control_sink_results_total",
      help: "Reasoning results received, by tier and verdict",
      labelNames: ["tier", "verdict"],
    });
    this.actions = counter(ctx.metrics, {
      name: "spikemesh_control_sink_actions_total",
      help: "Suggested actions, by outcome: performed, blocked (not whitelisted), skipped (error, verdict or confidence)",
      labelNames: ["outcome"],
    });
    this.feedback = counter(ctx.metrics, {
      name: "spikemesh_control_sink_feedback_total",
      help: "Feedback emitted, by outcome",
      labelNames: ["outcome"],
    });
  }

  process(rec: Rec<ReasoningResult>, ctx: Ctx): void {
    const result = rec.value;
    this.results.inc({ tier: this.tierLabels.of(result.tier), verdict: result.verdict });
    ctx.log.debug({ requestId: result.id, tier: result.tier, verdict: result.verdict }, "result");
    const fb = feedbackFor(result);
    ctx.forward("feedback", { key: fb.route, value: fb, timestampMs: rec.timestampMs, headers: {} });
    this.feedback.inc({ outcome: fb.outcome });
    if (result.action !== null) this.act(result, rec.timestampMs, ctx);
  }

  private act(result: ReasoningResult, timestampMs: number, ctx: Ctx): void {
    const action = result.action ?? "";
    if (!this.allowed.has(action)) {
      this.actions.inc({ outcome: "blocked" });
      ctx.log.warn(
        { requestId: result.id, tier: result.tier, verdict: result.verdict },
        "suggested action is not in allowedActions; not performed",
      );
      return;
    }
    const isActionable =
      result.error === null && ACTIONABLE.has(result.verdict) && result.confidence >= this.opts.minConfidence;
    if (!isActionable) {
      this.actions.inc({ outcome: "skipped" });
      return;
    }
    const confidence = result.confidence.toFixed(2);
    const control: ControlAction = {
      id: `${result.id}:${action}`,
      ts: result.ts,
      target: result.source,
      action,
      params: {
        verdict: result.verdict,
        tier: result.tier,
        model: result.model,
        route: result.route,
        confidence,
      },
      requestId: result.id,
      reason: `${result.verdict} from tier ${result.tier} (${result.model}) at confidence ${confidence}`,
    };
    ctx.forward("control", { key: control.target, value: control, timestampMs, headers: {} });
    this.actions.inc({ outcome: "performed" });
  }
}

/** The `controlSink` processor: results in, whitelisted ControlActions and Feedback out. */
export const controlSinkSpec: ProcessorSpec<ReasoningResult, ControlSinkOutputs, ControlSinkOptions> = {
  name: "controlSink",
  input: recordTypes.ReasoningResult,
  outputs: { control: recordTypes.ControlAction, feedback: recordTypes.Feedback },
  options: controlSinkOptionsSchema,
  create: (opts) => new ControlSink(opts),
};
