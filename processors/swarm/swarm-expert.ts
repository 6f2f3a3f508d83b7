import type { ZodType } from "zod";
import type { ReasoningRequest, SwarmMessage, Verdict } from "../../schemas/index.js";
import { recordTypes } from "../../schemas/index.js";
import {
  describeError,
  type Logger,
  type Processor,
  type ProcessorContext,
  type ProcessorSpec,
  type Rec,
  SpikemeshError,
} from "../../streams/index.js";
import { type SwarmExpertOptions, swarmExpertOptionsSchema } from "./options.js";
import { builtInRole } from "./roles.js";
import { type ExpertMetrics, expertMetrics } from "./swarm-metrics.js";

/** An expert backend's answer; the escalation tier's TierAnswer fits. */
export interface ExpertAnswer {
  verdict: Verdict;
  confidence: number;
  action: string | null;
  summary: string;
  tokens: number;
}

/** What answers an expert's activations; the escalation tier's backends (rules, llama, http) fit. */
export interface ExpertBackend {
  /** Model that answers; the ANSWER's `model` and a metric label. */
  readonly model: string;
  open?(signal: AbortSignal): Promise<void>;
  /** The activation as a ReasoningRequest (tier = expert, context with `swarm.role`). Must honour `signal`. */
  answer(request: ReasoningRequest, signal: AbortSignal): Promise<ExpertAnswer>;
  close?(): Promise<void>;
}

/**
 * The backends an expert may use: their options schema and a factory. Injected by whoever builds the
 * topology (the CLI passes the escalation tier's), since processors do not import each other.
 */
export interface ExpertBackends<B> {
  options: ZodType<B>;
  create(options: B, expert: string, log: Logger): ExpertBackend;
}

export type SwarmExpertOutputs = { answers: SwarmMessage };
type Ctx = ProcessorContext<SwarmExpertOutputs>;

/**
 * One expert of the swarm: answers each ACTIVATE message on `swarm.<expert>` with its backend and
 * sends exactly one ANSWER (same trace, depth and activation) to the conductor. The backend gets the
 * activation as a ReasoningRequest whose context adds `swarm.role`. It has `timeoutMs` (or less, to
 * the activation's deadline); a timeout or backend failure becomes an ANSWER with `error` set and
 * verdict UNKNOWN. Messages other than ACTIVATE, or for another expert, go to the DLQ.
 */
class SwarmExpert<B> implements Processor<SwarmMessage, SwarmExpertOutputs> {
  private backend: ExpertBackend | undefined;
  private metrics!: ExpertMetrics;
  private readonly role: string;

  constructor(
    private readonly opts: SwarmExpertOptions<B>,
    private readonly backends: ExpertBackends<B>,
  ) {
    this.role = opts.role ?? builtInRole(opts.expert) ?? opts.expert;
  }

  async init(ctx: Ctx): Promise<void> {
    this.metrics = expertMetrics(ctx.metrics);
    for (const outcome of ["ok", "error", "timeout"])
      this.metrics.requests.inc({ expert: this.opts.expert, outcome }, 0);
    this.backend = this.backends.create(this.opts.backend, this.opts.expert, ctx.log);
    await this.backend.open?.(ctx.signal);
  }

  async process(rec: Rec<SwarmMessage>, ctx: Ctx): Promise<void> {
    const msg = rec.value;
    const expert = this.opts.expert;
    if (msg.kind !== "ACTIVATE" || msg.expert !== expert) {
      throw new SpikemeshError(
        "RECORD_INVALID",
        `swarm expert ${expert} (${ctx.topic}/${ctx.partition}): got ${msg.kind} for expert "${msg.expert}"; only ACTIVATE messages for ${expert} belong here`,
        { context: { processor: ctx.processorName, topic: ctx.topic, partition: ctx.partition } },
      );
    }
    const backend = this.backend!;
    const startedMs = ctx.clock.nowMs();
    const budgetMs = Math.min(this.opts.timeoutMs, msg.deadline - startedMs);
    let answer: ExpertAnswer | null = null;
    let error: string | null = null;
    let outcome: "ok" | "error" | "timeout" = "ok";
    if (budgetMs <= 0) {
      error = "deadline passed before the expert started";
      outcome = "timeout";
    } else {
      const timeout = AbortSignal.timeout(budgetMs);
      const signal = AbortSignal.any([ctx.signal, timeout]);
      try {
        answer = await untilAborted(backend.answer(this.request(msg), signal), signal);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        outcome = timeout.aborted ? "timeout" : "error";
        error = timeout.aborted
          ? `no answer within ${budgetMs} ms (timeoutMs)`
          : describeError(err).slice(0, 500);
        ctx.log.warn({ expert, traceId: msg.traceId, err: error }, "swarm expert gave no answer");
      }
    }
    const finishedMs = ctx.clock.nowMs();
    this.metrics.requests.inc({ expert, outcome });
    if (budgetMs > 0) this.metrics.latency.observe({ expert }, Math.max(0, finishedMs - startedMs) / 1000);
    const tokens = answer && Number.isFinite(answer.tokens) ? Math.max(0, Math.round(answer.tokens)) : 0;
    if (tokens > 0) this.metrics.tokens.inc({ expert, model: backend.model }, tokens);
    ctx.forward("answers", {
      key: rec.key ?? msg.source,
      value: {
        ...msg,
        kind: "ANSWER",
        ts: finishedMs,
        spikes: [],
        context: "",
        verdict: answer?.verdict ?? "UNKNOWN",
        confidence: answer ? clamp01(answer.confidence) : 0,
        action: answer?.action ?? null,
        summary: answer ? String(answer.summary ?? "") : "",
        model: backend.model,
        latencyMs: Math.max(0, finishedMs - startedMs),
        tokens,
        error,
      },
      timestampMs: rec.timestampMs,
      headers: {},
    });
  }

  /** The activation as the request a tier backend answers. */
  private request(msg: SwarmMessage): ReasoningRequest {
    let context: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(msg.context === "" ? "{}" : msg.context);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
        context = parsed as Record<string, unknown>;
      else context = { input: parsed };
    } catch {
      context = { input: msg.context };
    }
    const swarm = typeof context.swarm === "object" && context.swarm !== null ? context.swarm : {};
    return {
      id: `${msg.traceId}/${msg.depth}/${msg.expert}`,
      ts: msg.ts,
      tier: msg.expert,
      route: msg.route,
      source: msg.source,
      spikes: msg.spikes,
      context: JSON.stringify({ ...context, swarm: { ...swarm, expert: msg.expert, role: this.role } }),
      deadline: msg.deadline,
      depth: msg.depth,
    };
  }

  async close(): Promise<void> {
    await this.backend?.close?.();
  }
}

/** Rejects when `signal` aborts even if the backend ignores it. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/** The `swarm-expert` processor over the given backends (the CLI passes the escalation tier's). */
export function createSwarmExpertSpec<B>(
  backends: ExpertBackends<B>,
): ProcessorSpec<SwarmMessage, SwarmExpertOutputs, SwarmExpertOptions<B>> {
  return {
    name: "swarm-expert",
    input: recordTypes.SwarmMessage,
    outputs: { answers: recordTypes.SwarmMessage },
    options: swarmExpertOptionsSchema(backends.options) as unknown as ProcessorSpec<
      SwarmMessage,
      SwarmExpertOutputs,
      SwarmExpertOptions<B>
    >["options"],
    create: (opts) => new SwarmExpert(opts, backends),
  };
}
