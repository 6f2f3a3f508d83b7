/**
 * One error base for the whole runtime. Callers branch on `code` (or `name`), never only on
 * `instanceof`, because errors cross process boundaries as plain objects.
 */
export type ErrorCode =
  | "CONFIG_INVALID"
  | "DECODE_FAILED"
  | "ENCODE_FAILED"
  | "SCHEMA_UNKNOWN"
  | "SCHEMA_INCOMPATIBLE"
  | "RECORD_INVALID"
  | "RECORD_TOO_LARGE"
  | "TOPIC_UNKNOWN"
  | "TOPIC_EXISTS"
  | "LOG_CORRUPT"
  | "TRANSIENT"
  | "TIMEOUT"
  | "INVARIANT"
  | "CLOSED"
  | "ABORTED";

export interface ErrorContext {
  processor?: string;
  topic?: string;
  partition?: number;
  offset?: number;
  field?: string;
  file?: string;
  line?: number;
}

export interface SpikemeshErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  context?: ErrorContext;
}

export class SpikemeshError extends Error {
  override readonly name: string = "SpikemeshError";
  readonly code: ErrorCode;
  /** True when trying again later may succeed (broker hiccup, model timeout). Never true for programmer errors. */
  readonly retriable: boolean;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, options: SpikemeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }
}

/** Configuration is wrong: stop start-up and print every problem. */
export class ConfigError extends SpikemeshError {
  override readonly name = "ConfigError";
  readonly problems: readonly string[];
  constructor(problems: readonly string[], options: SpikemeshErrorOptions = {}) {
    super("CONFIG_INVALID", `invalid configuration:\n  - ${problems.join("\n  - ")}`, options);
    this.problems = problems;
  }
}

/** A record cannot be decoded or is not valid for its schema: it goes to the DLQ, the stream goes on. */
export class DecodeError extends SpikemeshError {
  override readonly name = "DecodeError";
  constructor(message: string, options: SpikemeshErrorOptions = {}) {
    super("DECODE_FAILED", message, options);
  }
}

export function isSpikemeshError(err: unknown): err is SpikemeshError {
  return (
    typeof err === "object" &&
    err !== null &&
    typeof (err as { code?: unknown }).code === "string" &&
    typeof (err as { retriable?: unknown }).retriable === "boolean"
  );
}

/** Aborts mean shutdown or revocation, not failure. */
export function isAbortError(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const name = (err as { name?: unknown }).name;
  const code = (err as { code?: unknown }).code;
  return name === "AbortError" || code === "ABORTED";
}

/** A one-line description of any thrown value, for logs and DLQ headers. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
