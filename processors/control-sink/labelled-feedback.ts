import type {
  Feedback,
  Outcome,
  ReasoningRequest,
  ReasoningResult,
  SpikeRecord,
} from "../../schemas/index.js";
import { outcomeOf, rewardOf } from "./feedback-mapping.js";

/** A labelled window of a recording or a run: an anomaly the mesh should escalate. */
export interface LabelledWindow {
  name: string;
  sources: string[];
  /** When set, only spikes on this metric count. */
  metric?: string;
  startMs: number;
  endMs: number;
}

/** Verdicts that raise an alarm; NORMAL and UNKNOWN do not. */
const ALARMS: ReadonlySet<string> = new Set(["ANOMALY", "INCIDENT", "ESCALATE"]);

/** The labelled windows a request's spikes fall in (source, time and, when the label names one, metric). */
export function windowsOf(
  request: Pick<ReasoningRequest, "spikes">,
  labels: readonly LabelledWindow[],
): LabelledWindow[] {
  return labels.filter((w) =>
    request.spikes.some(
      (s) =>
        w.sources.includes(s.source) &&
        s.timestamp >= w.startMs &&
        s.timestamp <= w.endMs &&
        (w.metric === undefined || metricOf(s) === w.metric),
    ),
  );
}

/** The metric a spike fired on, from its payload; undefined when the payload does not say. */
export function metricOf(spike: SpikeRecord): string | undefined {
  try {
    return (JSON.parse(spike.payload) as { metric?: string }).metric;
  } catch {
    return undefined;
  }
}

/**
 * How a result turned out, judged against labels (a labelled replay) rather than from the verdict
 * alone: a failed call is ERROR or TIMEOUT as always; otherwise the answer is USEFUL when it is right
 * (an alarm verdict for a case inside a labelled window, NORMAL or UNKNOWN for a case outside every
 * window) and NOT_USEFUL when it is wrong (a labelled anomaly called normal, or a false alarm).
 */
export function labelledOutcome(
  request: Pick<ReasoningRequest, "spikes">,
  result: ReasoningResult,
  labels: readonly LabelledWindow[],
): Outcome {
  if (result.error !== null) return outcomeOf(result);
  const anomalous = windowsOf(request, labels).length > 0;
  return anomalous === ALARMS.has(result.verdict) ? "USEFUL" : "NOT_USEFUL";
}

/**
 * The Feedback a labelled replay publishes for one answered request: route, tier and latency from
 * the result (so the learner's Δt is the answer's own latency), the labelled outcome, and a reward
 * that scales with the result's confidence when it was right.
 */
export function labelledFeedback(
  request: Pick<ReasoningRequest, "spikes">,
  result: ReasoningResult,
  labels: readonly LabelledWindow[],
  nowMs: number,
): Feedback {
  const outcome = labelledOutcome(request, result, labels);
  return {
    requestId: result.id,
    route: result.route,
    tier: result.tier,
    outcome,
    reward: rewardOf(outcome, result.confidence),
    latencyMs: result.latencyMs,
    ts: nowMs,
  };
}
