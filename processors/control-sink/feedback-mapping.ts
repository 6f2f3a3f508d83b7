import type { Feedback, Outcome, ReasoningResult } from "../../schemas/index.js";

/** Reward per outcome; USEFUL is scaled by the result's confidence, from 0.5 (0) to 1 (1). */
export const REWARD = { NOT_USEFUL: -0.1, ERROR: -1, TIMEOUT: -1 } as const;

/**
 * How a result turned out, judged from the result alone:
 * - `error` mentioning a timeout or deadline → TIMEOUT; any other error → ERROR;
 * - verdict ANOMALY, INCIDENT or ESCALATE → USEFUL (the escalation found something);
 * - verdict NORMAL or UNKNOWN → NOT_USEFUL (a model was woken for nothing).
 * Operators and labelled replays can publish their own Feedback on the same topic.
 */
export function outcomeOf(result: ReasoningResult): Outcome {
  if (result.error !== null) return /timeout|timed out|deadline/i.test(result.error) ? "TIMEOUT" : "ERROR";
  switch (result.verdict) {
    case "ANOMALY":
    case "INCIDENT":
    case "ESCALATE":
      return "USEFUL";
    default:
      return "NOT_USEFUL";
  }
}

/** Reward in [-1, 1] for an outcome. */
export function rewardOf(outcome: Outcome, confidence: number): number {
  if (outcome === "USEFUL") {
    const c = Number.isFinite(confidence) ? Math.min(1, Math.max(0, confidence)) : 0;
    return 0.5 + 0.5 * c;
  }
  return REWARD[outcome];
}

export function feedbackFor(result: ReasoningResult): Feedback {
  const outcome = outcomeOf(result);
  return {
    requestId: result.id,
    route: result.route,
    tier: result.tier,
    outcome,
    reward: rewardOf(outcome, result.confidence),
    latencyMs: result.latencyMs,
    ts: result.ts,
  };
}
