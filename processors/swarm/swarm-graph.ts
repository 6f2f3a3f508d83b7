/**
 * The swarm's expert graph, pure: which experts a wave of answers activates, and whether the routes
 * have a cycle (which needs a depth limit). Knows nothing of records.
 */

/** forward: the pipeline; skip: a shortcut over experts; feedback: back to an earlier expert. */
export type RouteKind = "forward" | "skip" | "feedback";

export interface SwarmRoute {
  from: string;
  to: string;
  kind: RouteKind;
  /** 0 to 1: how strongly an answer on this route activates `to`. */
  weight: number;
}

/** What a wave's answer contributes to the next wave. */
export interface WaveAnswer {
  expert: string;
  confidence: number;
  /** Failed or timed-out experts activate nothing. */
  isError: boolean;
}

/**
 * Activation of every expert the answers route to, in `order` (the declared expert order). A forward
 * or skip route carries weight × confidence; a feedback route carries weight × (1 − confidence): a
 * doubtful critique asks the earlier expert to refine, a confident one lets the thought end. Several
 * routes into one expert combine as a noisy-OR, 1 − Π(1 − aᵢ), so activation stays within 0 to 1
 * and grows with every supporting answer.
 */
export function nextActivations(
  routes: readonly SwarmRoute[],
  answers: readonly WaveAnswer[],
  order: readonly string[],
): Map<string, number> {
  const quiet = new Map<string, number>();
  for (const answer of answers) {
    if (answer.isError) continue;
    const confidence = clamp01(answer.confidence);
    for (const route of routes) {
      if (route.from !== answer.expert) continue;
      const signal = clamp01(route.weight) * (route.kind === "feedback" ? 1 - confidence : confidence);
      quiet.set(route.to, (quiet.get(route.to) ?? 1) * (1 - signal));
    }
  }
  const out = new Map<string, number>();
  for (const expert of order) {
    const q = quiet.get(expert);
    if (q !== undefined) out.set(expert, round(1 - q));
  }
  return out;
}

/** A cycle of the routes as a list of experts (first repeated at the end), or null when there is none. */
export function findCycle(experts: readonly string[], routes: readonly SwarmRoute[]): string[] | null {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (expert: string): string[] | null => {
    state.set(expert, "visiting");
    stack.push(expert);
    for (const route of routes) {
      if (route.from !== expert) continue;
      const seen = state.get(route.to);
      if (seen === "visiting") return [...stack.slice(stack.indexOf(route.to)), route.to];
      if (seen === undefined) {
        const cycle = visit(route.to);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(expert, "done");
    return null;
  };
  for (const expert of experts) {
    if (state.has(expert)) continue;
    const cycle = visit(expert);
    if (cycle) return cycle;
  }
  return null;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/** Activations are compared with a threshold: round away float noise (0.6 × 1 must pass 0.6). */
function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}
