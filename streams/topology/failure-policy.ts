import { isAbortError, isSpikemeshError } from "../errors.js";

/**
 * What the runtime does with a record whose processing threw:
 * - "abort": shutdown or revocation in progress; the record is not committed and will be seen again;
 * - "retry": a transient SpikemeshError (retriable) - retry with backoff, then dead-letter;
 * - "dlq": a SpikemeshError about this record (decode, validation, size) - dead-letter, go on;
 * - "crash": anything else (TypeError and kin, invariant breaks) - a bug: stop the partition.
 */
export type FailureAction = "abort" | "retry" | "dlq" | "crash";

export function classifyFailure(err: unknown): FailureAction {
  if (isAbortError(err)) return "abort";
  if (!isSpikemeshError(err)) return "crash";
  if (err.code === "INVARIANT") return "crash";
  return err.retriable ? "retry" : "dlq";
}

/** Exponential backoff with full jitter, capped; `random` in [0, 1). */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
