import type { Outcome } from "../../schemas/index.js";

/** Parameters of the route-weight rule; see {@link applyFeedback}. */
export interface StdpParams {
  /** Largest strengthening, for a USEFUL answer with zero latency. */
  aPlus: number;
  /** Weakening for ERROR and TIMEOUT. */
  aMinus: number;
  /** Weakening for NOT_USEFUL (a model was woken for nothing): small. */
  aNotUseful: number;
  /** Latency scale of the strengthening, ms: a USEFUL answer after tauMs counts 1/e as much. */
  tauMs: number;
  wMin: number;
  wMax: number;
  /** Weights relax toward this between updates. */
  baseline: number;
  /** Time constant of that relaxation, ms of event time. */
  decayTauMs: number;
}

/** One route's learned state; a JSON value in the "route-weights" store. */
export interface RouteState {
  weight: number;
  updates: number;
  /** Event time of the latest feedback absorbed, epoch ms. */
  lastMs: number;
}

/** Exponential relaxation toward `baseline`: w ← b + (w − b)·exp(−Δt/τ); no change for Δt ≤ 0. */
export function decayToward(weight: number, baseline: number, dtMs: number, decayTauMs: number): number {
  if (!(dtMs > 0)) return weight;
  return baseline + (weight - baseline) * Math.exp(-dtMs / decayTauMs);
}

/**
 * The STDP-like change for one outcome: the "post" event (a useful answer) strengthens the route the
 * more the sooner it follows the "pre" event (the request), Δw = aPlus·exp(−latencyMs/tauMs);
 * NOT_USEFUL weakens by aNotUseful, ERROR and TIMEOUT by aMinus.
 */
export function weightChange(outcome: Outcome, latencyMs: number, p: StdpParams): number {
  switch (outcome) {
    case "USEFUL":
      return p.aPlus * Math.exp(-Math.max(0, latencyMs) / p.tauMs);
    case "NOT_USEFUL":
      return -p.aNotUseful;
    case "ERROR":
    case "TIMEOUT":
      return -p.aMinus;
  }
}

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/**
 * Absorbs one feedback: decay from the last update to `tsMs` (event time; feedback out of order
 * does not decay), add the outcome's change, clamp to [wMin, wMax]. A route seen for the first time
 * starts at the baseline.
 */
export function applyFeedback(
  state: RouteState | undefined,
  feedback: { outcome: Outcome; latencyMs: number; tsMs: number },
  p: StdpParams,
): RouteState {
  const start = state ?? { weight: p.baseline, updates: 0, lastMs: feedback.tsMs };
  const decayed = decayToward(start.weight, p.baseline, feedback.tsMs - start.lastMs, p.decayTauMs);
  return {
    weight: clamp(decayed + weightChange(feedback.outcome, feedback.latencyMs, p), p.wMin, p.wMax),
    updates: start.updates + 1,
    lastMs: Math.max(start.lastMs, feedback.tsMs),
  };
}
