import { createHash } from "node:crypto";

/**
 * Route ids are `<kind>-><tier>`:
 * - `catalogue->rules` for windows a catalogue entry matched;
 * - `single->phi2`, `single->deepseek` for unmatched windows from one source;
 * - `correlated->phi2`, `correlated->deepseek` for unmatched windows in which several sources
 *   spiked together.
 * The feedback learner keeps one weight per route id, so it learns separately how useful each tier
 * is for lone and for correlated cases.
 */
export type CaseKind = "single" | "correlated";

export const RULES_ROUTE = "catalogue->rules";

export function routeId(kind: CaseKind | "catalogue", tier: string): string {
  return `${kind}->${tier}`;
}

/**
 * Tier probabilities: softmax over `logits / temperature`, mixed with a uniform floor so that no
 * tier's probability reaches zero: p_i = (1 - epsilon) * softmax_i + epsilon / n. They sum to 1 and
 * each is at least epsilon / n.
 */
export function tierProbabilities(logits: readonly number[], temperature: number, epsilon: number): number[] {
  const n = logits.length;
  if (n === 0) return [];
  const scaled = logits.map((l) => l / temperature);
  const max = Math.max(...scaled);
  const exps = scaled.map((s) => Math.exp(s - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => (1 - epsilon) * (e / total) + epsilon / n);
}

/** Index picked by a uniform draw `u` in [0, 1) from `probabilities` (which sum to 1). */
export function sampleIndex(probabilities: readonly number[], u: number): number {
  let cumulative = 0;
  for (let i = 0; i < probabilities.length; i++) {
    cumulative += probabilities[i] ?? 0;
    if (u < cumulative) return i;
  }
  // Rounding can leave the cumulative sum a hair below 1.
  return probabilities.length - 1;
}

/** Deterministic request id: the same source, window and tier always give the same id (replays). */
export function requestId(source: string, windowStartMs: number, tier: string): string {
  return createHash("sha256")
    .update(`${source}\u0000${windowStartMs}\u0000${tier}`)
    .digest("hex")
    .slice(0, 32);
}
