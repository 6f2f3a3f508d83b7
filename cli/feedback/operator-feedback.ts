import { rewardOf } from "../../processors/index.js";
import type { Feedback, ReasoningResult } from "../../schemas/index.js";

/** What an operator says about an escalation. */
export const JUDGEMENTS = ["useful", "wrong"] as const;
export type Judgement = (typeof JUDGEMENTS)[number];

export function isJudgement(value: string): value is Judgement {
  return (JUDGEMENTS as readonly string[]).includes(value);
}

/**
 * An operator's Feedback on a result: "useful" is USEFUL with full reward, "wrong" is NOT_USEFUL.
 * Route, tier and latency come from the result, so the learner credits the route that chose the
 * tier with the answer's own latency (its STDP Δt); `ts` is when the operator judged.
 */
export function operatorFeedback(result: ReasoningResult, judgement: Judgement, nowMs: number): Feedback {
  const outcome = judgement === "useful" ? "USEFUL" : "NOT_USEFUL";
  return {
    requestId: result.id,
    route: result.route,
    tier: result.tier,
    outcome,
    reward: rewardOf(outcome, 1),
    latencyMs: result.latencyMs,
    ts: nowMs,
  };
}
