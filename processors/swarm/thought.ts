import type {
  ReasoningResult,
  SpikeRecord,
  SwarmMessage,
  SwarmThought,
  Verdict,
} from "../../schemas/index.js";

/** Empty answer fields: of a SwarmMessage that asks (a signal to an expert), and of a thought step before its answer. */
export const NO_ANSWER = {
  verdict: "UNKNOWN",
  confidence: 0,
  action: null,
  summary: "",
  model: "",
  latencyMs: 0,
  tokens: 0,
  error: null,
} as const satisfies Partial<SwarmMessage>;

/** One expert in one wave of a thought, as the conductor tracks it. */
export interface ThoughtStep {
  expert: string;
  depth: number;
  activation: number;
  /** False: skipped, its activation stayed below the threshold. */
  ran: boolean;
  /** An ANSWER arrived (or the wave gave up waiting, with `error` set). */
  answered: boolean;
  verdict: Verdict;
  confidence: number;
  action: string | null;
  summary: string;
  model: string;
  latencyMs: number;
  tokens: number;
  error: string | null;
}

/** One input on its way through the experts: kept in the conductor's "swarm-thoughts" store by trace id. */
export interface ThoughtState {
  version: 1;
  traceId: string;
  key: string | null;
  source: string;
  route: string;
  /** Event time of the input, epoch ms: the timestamp of every record the thought produces. */
  inputTs: number;
  /** Wall time the input arrived, epoch ms. */
  startedMs: number;
  spikes: SpikeRecord[];
  /** The input's context JSON. */
  context: string;
  /** Current wave; 0 before the first. */
  depth: number;
  /** Wall time after which the wave goes on without the missing answers, epoch ms. */
  waveDeadlineMs: number;
  /** Experts of the current wave that have not answered. */
  pending: string[];
  steps: ThoughtStep[];
}

export type StopReason = "depth-limit" | "no-activation" | "no-routes";

/**
 * The answer that stands for the thought: the deepest successful answer of an `output` expert (ties:
 * the earlier in `output`), else the deepest successful answer of any expert (ties: the later in
 * `order`, downstream experts being declared later). Null when no expert answered.
 */
export function chooseAnswer(
  steps: readonly ThoughtStep[],
  output: readonly string[],
  order: readonly string[],
): ThoughtStep | null {
  const ok = steps.filter((s) => s.ran && s.answered && s.error === null);
  const best = (candidates: ThoughtStep[], rank: (s: ThoughtStep) => number) =>
    candidates.reduce<ThoughtStep | null>((b, s) => {
      if (!b || s.depth > b.depth || (s.depth === b.depth && rank(s) > rank(b))) return s;
      return b;
    }, null);
  const preferred = ok.filter((s) => output.includes(s.expert));
  if (preferred.length > 0) return best(preferred, (s) => -output.indexOf(s.expert));
  return best(ok, (s) => order.indexOf(s.expert));
}

/** Deepest wave in which an expert ran. */
export function deepestWave(steps: readonly ThoughtStep[]): number {
  return steps.reduce((d, s) => (s.ran ? Math.max(d, s.depth) : d), 0);
}

/** The thought as a SwarmThought record. */
export function thoughtRecord(
  state: ThoughtState,
  stop: StopReason,
  answer: ThoughtStep | null,
  nowMs: number,
): SwarmThought {
  return {
    traceId: state.traceId,
    ts: nowMs,
    source: state.source,
    route: state.route,
    steps: state.steps.map((s) => ({
      expert: s.expert,
      depth: s.depth,
      activation: s.activation,
      ran: s.ran,
      verdict: s.verdict,
      confidence: s.confidence,
      latencyMs: s.latencyMs,
      error: s.error,
    })),
    depth: deepestWave(state.steps),
    stopReason: stop,
    answeredBy: answer?.expert ?? "",
    verdict: answer?.verdict ?? "UNKNOWN",
    confidence: answer?.confidence ?? 0,
    latencyMs: Math.max(0, nowMs - state.startedMs),
  };
}

/** The thought as the swarm's ReasoningResult (id = the input's id), for the control sink and feedback. */
export function resultRecord(
  state: ThoughtState,
  tier: string,
  stop: StopReason,
  answer: ThoughtStep | null,
  nowMs: number,
): ReasoningResult {
  const ran = state.steps.filter((s) => s.ran);
  const path = `${ran.length} expert run(s) over ${deepestWave(state.steps)} wave(s), stop ${stop}`;
  return {
    id: state.traceId,
    ts: nowMs,
    tier,
    route: state.route,
    source: state.source,
    model: answer?.model ?? "swarm",
    verdict: answer?.verdict ?? "UNKNOWN",
    confidence: answer?.confidence ?? 0,
    action: answer?.action ?? null,
    summary: answer ? `${answer.expert}: ${answer.summary} [${path}]` : `no expert answered [${path}]`,
    latencyMs: Math.max(0, nowMs - state.startedMs),
    tokens: ran.reduce((n, s) => n + s.tokens, 0),
    error: answer ? null : "no expert answered",
  };
}
