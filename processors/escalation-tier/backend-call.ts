import { setTimeout as sleep } from "node:timers/promises";
import type { ReasoningRequest } from "../../schemas/index.js";
import { type Clock, describeError, isSpikemeshError, type Random } from "../../streams/index.js";
import type { TierAnswer, TierBackend } from "./backend.js";
import type { CircuitBreaker } from "./circuit-breaker.js";

/** The error text of a result whose request was past its deadline; the control sink maps it to TIMEOUT. */
export const DEADLINE_EXCEEDED = "deadline exceeded";

/** Why a call gave no answer; a metric label. */
export type FailureKind = "timeout" | "breaker_open" | "invalid_output" | "transient" | "error";

export type CallOutcome =
  | { ok: true; answer: TierAnswer; attempts: number }
  | { ok: false; kind: FailureKind; message: string; attempts: number };

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** Backoff before the second attempt, ms; doubles per attempt, with full jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface CallDeps {
  breaker: CircuitBreaker;
  /** Longest the whole call may take, retries included, ms; the request's deadline wins when sooner. */
  timeoutMs: number;
  retry: RetryPolicy;
  clock: Clock;
  random: Random;
  /** Shutdown: an abort through it is rethrown, never turned into a failure. */
  shutdown: AbortSignal;
  /** Called before each retry (metrics). */
  onRetry?: (kind: FailureKind) => void;
}

/**
 * One request through a backend: each attempt gets an AbortSignal that fires at the request's
 * deadline (on `clock`) or at shutdown; retriable failures (SpikemeshError.retriable: transport
 * errors, 5xx/429, malformed model output) are retried with exponential backoff and full jitter
 * while attempts and time remain; every attempt's success or failure feeds the circuit breaker,
 * and an open breaker fails the call at once. Shutdown rethrows.
 */
export async function callBackend(
  backend: TierBackend,
  request: ReasoningRequest,
  deps: CallDeps,
): Promise<CallOutcome> {
  const { breaker, retry, clock, shutdown } = deps;
  const startedMs = clock.nowMs();
  const untilMs = Math.min(request.deadline, startedMs + deps.timeoutMs);
  const isTierTimeout = untilMs < request.deadline;
  let spentMs = 0;
  for (let attempt = 1; ; attempt++) {
    // Wall time spent is measured too, so the tier timeout holds even on a clock that stands still.
    const remainingMs = Math.min(untilMs - clock.nowMs(), deps.timeoutMs - spentMs);
    if (remainingMs <= 0) {
      return {
        ok: false,
        kind: "timeout",
        message: `${DEADLINE_EXCEEDED} after ${attempt - 1} attempt(s)`,
        attempts: attempt - 1,
      };
    }
    if (!breaker.tryAcquire()) {
      return {
        ok: false,
        kind: "breaker_open",
        message: `circuit breaker open for ${backend.name} backend ${backend.model}; next trial in ${breaker.retryInMs} ms`,
        attempts: attempt - 1,
      };
    }
    const attemptStarted = performance.now();
    // Whole milliseconds: spentMs comes from performance.now(), and AbortSignal.timeout throws a
    // RangeError (which would crash the partition) for a fractional delay.
    const deadline = AbortSignal.timeout(Math.ceil(remainingMs));
    const signal = AbortSignal.any([shutdown, deadline]);
    let kind: FailureKind;
    let message: string;
    try {
      const answer = await backend.answer(request, signal);
      breaker.onSuccess();
      return { ok: true, answer, attempts: attempt };
    } catch (err) {
      if (shutdown.aborted) {
        breaker.onNeutral();
        throw err;
      }
      breaker.onFailure();
      if (deadline.aborted) {
        const which = isTierTimeout ? ` (tier timeoutMs ${deps.timeoutMs})` : "";
        return {
          ok: false,
          kind: "timeout",
          message: `${DEADLINE_EXCEEDED}${which} during attempt ${attempt}`,
          attempts: attempt,
        };
      }
      const isRetriable = isSpikemeshError(err) && err.retriable;
      kind = !isRetriable
        ? "error"
        : isSpikemeshError(err) && err.code === "RECORD_INVALID"
          ? "invalid_output"
          : "transient";
      message = describeError(err);
      if (!isRetriable || attempt >= retry.maxAttempts)
        return { ok: false, kind, message, attempts: attempt };
    }
    spentMs += performance.now() - attemptStarted;
    const ceiling = Math.min(retry.backoffMaxMs, retry.backoffBaseMs * 2 ** (attempt - 1));
    const waitMs = Math.round(deps.random.next() * ceiling);
    if (clock.nowMs() + waitMs >= untilMs || spentMs + waitMs >= deps.timeoutMs) {
      return {
        ok: false,
        kind,
        message: `${message} (no time left to retry before the deadline)`,
        attempts: attempt,
      };
    }
    deps.onRetry?.(kind);
    try {
      await sleep(waitMs, undefined, { signal: shutdown });
    } catch (err) {
      throw shutdown.reason ?? err;
    }
    spentMs += waitMs;
  }
}
