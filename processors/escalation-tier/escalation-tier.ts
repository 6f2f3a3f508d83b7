import { createHash } from "node:crypto";
import {
  type ReasoningRequest,
  type ReasoningResult,
  recordTypes,
  type Verdict,
} from "../../schemas/index.js";
import type { Logger, Processor, ProcessorContext, ProcessorSpec, Rec } from "../../streams/index.js";
import type { TierAnswer, TierBackend } from "./backend.js";
import { type CallOutcome, callBackend, DEADLINE_EXCEEDED } from "./backend-call.js";
import { BREAKER_STATE_VALUE, CircuitBreaker } from "./circuit-breaker.js";
import { createTierBackend } from "./create-backend.js";
import { type BackendOptions, type EscalationTierOptions, escalationTierOptionsSchema } from "./options.js";
import { initTierSeries, type TierMetrics, tierMetrics } from "./tier-metrics.js";

export { DEADLINE_EXCEEDED } from "./backend-call.js";

export type EscalationTierOutputs = {
  results: ReasoningResult;
  /** Cases this tier hands up to `handUpTier` (bound to `escalations.<handUpTier>`). */
  handUp: ReasoningRequest;
  /** Requests this tier could not answer, passed to `fallbackTier` (bound to `escalations.<fallbackTier>`). */
  fallback: ReasoningRequest;
};

type Ctx = ProcessorContext<EscalationTierOutputs>;

/** Builds a tier's backend; tests inject failing or slow ones. */
export type BackendFactory = (options: BackendOptions, tier: string, log: Logger) => TierBackend;

const VERDICTS: ReadonlySet<string> = new Set<Verdict>([
  "NORMAL",
  "ANOMALY",
  "INCIDENT",
  "ESCALATE",
  "UNKNOWN",
]);

/**
 * One tier's worker: answers each ReasoningRequest with its backend and emits exactly one
 * ReasoningResult per request (same id). A request already past its deadline (on `ctx.clock`) is not
 * sent to the backend; its result has error "deadline exceeded". Calls have the request's deadline
 * as an AbortSignal, retriable failures are retried with backoff, and a circuit breaker stops calls
 * to a failing backend (backend-call.ts). A failure becomes a result with `error` set and verdict
 * UNKNOWN (and, with `fallbackTier`, a new request to that tier); an answer that arrives after the
 * deadline keeps its verdict but carries the deadline error, so nothing acts on it. A verdict of
 * ESCALATE, novel or correlated also goes to `handUpTier`. Only shutdown (ctx.signal) is rethrown.
 */
class EscalationWorker implements Processor<ReasoningRequest, EscalationTierOutputs> {
  private backend: TierBackend | undefined;
  private metrics!: TierMetrics;
  private breaker!: CircuitBreaker;

  constructor(
    private readonly opts: EscalationTierOptions,
    private readonly createBackend: BackendFactory,
  ) {}

  async init(ctx: Ctx): Promise<void> {
    const tier = this.opts.tier;
    this.metrics = tierMetrics(ctx.metrics);
    const partition = String(ctx.partition);
    const breakerGauge = this.metrics.breakerState;
    breakerGauge.set({ tier, partition }, BREAKER_STATE_VALUE.closed);
    this.breaker = new CircuitBreaker(this.opts.breaker, ctx.clock, (state) => {
      breakerGauge.set({ tier, partition }, BREAKER_STATE_VALUE[state]);
      ctx.log.warn({ tier, state }, `circuit breaker ${state.replace("_", "-")}`);
    });
    this.backend = this.createBackend(this.opts.backend, tier, ctx.log);
    initTierSeries(this.metrics, tier, this.backend.model, this.opts);
    await this.backend.open?.(ctx.signal);
  }

  async process(rec: Rec<ReasoningRequest>, ctx: Ctx): Promise<void> {
    const backend = this.backend!;
    const request = rec.value;
    const tier = this.opts.tier;
    const startedMs = ctx.clock.nowMs();
    const isExpired = startedMs > request.deadline;
    const outcome: CallOutcome = isExpired
      ? {
          ok: false,
          kind: "timeout",
          message: `${DEADLINE_EXCEEDED} before the request was started`,
          attempts: 0,
        }
      : await callBackend(backend, request, {
          breaker: this.breaker,
          timeoutMs: this.opts.timeoutMs,
          retry: this.opts,
          clock: ctx.clock,
          random: ctx.random,
          shutdown: ctx.signal,
          onRetry: (kind) => this.metrics.retries.inc({ tier, kind }),
        });
    const finishedMs = ctx.clock.nowMs();
    const answer = outcome.ok ? sanitize(outcome.answer) : null;
    let error = outcome.ok ? null : outcome.message.slice(0, this.opts.maxErrorChars);
    if (!outcome.ok) {
      this.metrics.failures.inc({ tier, kind: outcome.kind });
      if (!isExpired)
        ctx.log.warn(
          { tier, requestId: request.id, kind: outcome.kind, err: outcome.message },
          "tier backend gave no answer",
        );
    }
    if (answer && finishedMs > request.deadline) {
      error = `${DEADLINE_EXCEEDED}: answered ${finishedMs - request.deadline} ms late`;
    }
    const status = error === null ? "ok" : error.startsWith(DEADLINE_EXCEEDED) ? "timeout" : "error";
    this.metrics.requests.inc({ tier, outcome: status });
    if (status !== "ok") this.metrics.errors.inc({ tier, outcome: status });
    if (!isExpired) this.metrics.latency.observe({ tier }, Math.max(0, finishedMs - startedMs) / 1000);
    if (answer && answer.tokens > 0) this.metrics.tokens.inc({ tier, model: backend.model }, answer.tokens);
    if (answer?.promptTokens)
      this.metrics.promptTokens.inc({ tier, model: backend.model }, answer.promptTokens);

    const handed = this.handOn(ctx, rec, answer, error, finishedMs);
    const result: ReasoningResult = {
      id: request.id,
      ts: finishedMs,
      tier,
      route: request.route,
      source: request.source,
      model: backend.model,
      verdict: answer?.verdict ?? "UNKNOWN",
      confidence: answer?.confidence ?? 0,
      action: answer?.action ?? null,
      summary:
        (answer?.summary ??
          (status === "timeout" ? "not answered: deadline exceeded" : "not answered: backend error")) +
        (handed && !answer ? `; passed to tier ${handed.tier} as ${handed.id}` : ""),
      latencyMs: Math.max(0, finishedMs - startedMs),
      tokens: answer?.tokens ?? 0,
      error,
    };
    ctx.forward("results", { key: request.source, value: result, timestampMs: rec.timestampMs, headers: {} });
  }

  /**
   * Forwards the case to another tier when this one failed (fallbackTier) or judged it beyond
   * itself (handUpTier), unless it was handed on `maxDepth` times already. The new request has its
   * own deterministic id, the same route (feedback stays with the route that chose this path), the
   * original time budget from now, and this tier's opinion in its context.
   */
  private handOn(
    ctx: Ctx,
    rec: Rec<ReasoningRequest>,
    answer: TierAnswer | null,
    error: string | null,
    nowMs: number,
  ): ReasoningRequest | null {
    const request = rec.value;
    if (request.depth >= this.opts.maxDepth) return null;
    let reason: "hand_up" | "fallback";
    let to: string | null;
    if (answer && error === null) {
      if (!(answer.handUp || answer.verdict === "ESCALATE")) return null;
      reason = "hand_up";
      to = this.opts.handUpTier;
    } else if (!answer) {
      reason = "fallback";
      to = this.opts.fallbackTier;
    } else {
      return null;
    }
    if (to === null) return null;
    const budgetMs = Math.max(0, request.deadline - request.ts);
    const next: ReasoningRequest = {
      ...request,
      id: createHash("sha256").update(`${request.id}\u0000${to}`).digest("hex").slice(0, 32),
      ts: nowMs,
      tier: to,
      deadline: nowMs + budgetMs,
      depth: request.depth + 1,
      context: withHandoff(request.context, {
        fromTier: this.opts.tier,
        reason,
        ...(answer
          ? { verdict: answer.verdict, confidence: answer.confidence, summary: answer.summary }
          : { error }),
      }),
    };
    ctx.forward(reason === "hand_up" ? "handUp" : "fallback", {
      key: request.source,
      value: next,
      timestampMs: rec.timestampMs,
      headers: {},
    });
    this.metrics.handoffs.inc({ tier: this.opts.tier, to, reason });
    return next;
  }

  async close(): Promise<void> {
    await this.backend?.close?.();
  }
}

/** The context with a `handoff` entry added (contexts that are not JSON objects stay as they are). */
function withHandoff(context: string, handoff: Record<string, unknown>): string {
  try {
    const parsed: unknown = JSON.parse(context === "" ? "{}" : context);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return context;
    return JSON.stringify({ ...parsed, handoff });
  } catch {
    return context;
  }
}

/** Clamps what a backend returned into the record's ranges (models can emit odd numbers). */
function sanitize(answer: TierAnswer): TierAnswer {
  const confidence = Number.isFinite(answer.confidence) ? Math.min(1, Math.max(0, answer.confidence)) : 0;
  const count = (n: number | undefined) =>
    n !== undefined && Number.isFinite(n) ? Math.max(0, Math.min(2 ** 31 - 1, Math.round(n))) : 0;
  return {
    verdict: VERDICTS.has(answer.verdict) ? answer.verdict : "UNKNOWN",
    confidence,
    action: typeof answer.action === "string" && answer.action !== "" ? answer.action : null,
    summary: String(answer.summary ?? ""),
    tokens: count(answer.tokens),
    promptTokens: count(answer.promptTokens),
    handUp: answer.handUp === true,
  };
}

/**
 * The `escalationTier` spec with an injectable backend factory (tests pass failing or slow
 * backends; the default builds backends from options).
 */
export function createEscalationTierSpec(
  createBackend: BackendFactory = createTierBackend,
): ProcessorSpec<ReasoningRequest, EscalationTierOutputs, EscalationTierOptions> {
  return {
    name: "escalationTier",
    input: recordTypes.ReasoningRequest,
    outputs: {
      results: recordTypes.ReasoningResult,
      handUp: recordTypes.ReasoningRequest,
      fallback: recordTypes.ReasoningRequest,
    },
    options: escalationTierOptionsSchema,
    create: (opts) => new EscalationWorker(opts, createBackend),
  };
}

/** The `escalationTier` processor: ReasoningRequests of one tier in, one ReasoningResult each out. */
export const escalationTierSpec = createEscalationTierSpec();
