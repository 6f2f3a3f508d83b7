import { type ErrorCode, type ErrorContext, isSpikemeshError, SpikemeshError } from "../../errors.js";

/** The fields @platformatic/kafka errors carry (GenericError, MultipleErrors, ProtocolError); matched by field, not class. */
interface PlatformaticErrorLike {
  name?: string;
  code?: string;
  message?: string;
  /** Protocol error name, e.g. "UNKNOWN_TOPIC_OR_PARTITION". */
  apiId?: string;
  canRetry?: boolean;
  serverErrorMessage?: string | null;
  cause?: unknown;
  errors?: unknown[];
}

const PROTOCOL_CODES: Record<string, ErrorCode> = {
  UNKNOWN_TOPIC_OR_PARTITION: "TOPIC_UNKNOWN",
  UNKNOWN_TOPIC_ID: "TOPIC_UNKNOWN",
  TOPIC_ALREADY_EXISTS: "TOPIC_EXISTS",
  INVALID_PARTITIONS: "CONFIG_INVALID",
  INVALID_REPLICATION_FACTOR: "CONFIG_INVALID",
  INVALID_REPLICA_ASSIGNMENT: "CONFIG_INVALID",
  INVALID_CONFIG: "CONFIG_INVALID",
  INVALID_TOPIC_EXCEPTION: "CONFIG_INVALID",
  POLICY_VIOLATION: "CONFIG_INVALID",
  TOPIC_AUTHORIZATION_FAILED: "CONFIG_INVALID",
  GROUP_AUTHORIZATION_FAILED: "CONFIG_INVALID",
  CLUSTER_AUTHORIZATION_FAILED: "CONFIG_INVALID",
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "CONFIG_INVALID",
  SASL_AUTHENTICATION_FAILED: "CONFIG_INVALID",
  UNSUPPORTED_SASL_MECHANISM: "CONFIG_INVALID",
  MESSAGE_TOO_LARGE: "RECORD_TOO_LARGE",
  RECORD_LIST_TOO_LARGE: "RECORD_TOO_LARGE",
  INVALID_PRODUCER_EPOCH: "INVARIANT",
  PRODUCER_FENCED: "INVARIANT",
  TRANSACTIONAL_ID_NOT_FOUND: "INVARIANT",
  REQUEST_TIMED_OUT: "TIMEOUT",
  // The group moved on (a member joined or left) while a commit was in flight: the partitions may
  // belong to someone else now. Retriable: the node rejoins and reads from the committed offsets.
  ILLEGAL_GENERATION: "TRANSIENT",
  REBALANCE_IN_PROGRESS: "TRANSIENT",
  UNKNOWN_MEMBER_ID: "TRANSIENT",
};

/** GenericError codes of the client itself (not broker protocol errors). */
const CLIENT_CODES: Record<string, ErrorCode> = {
  PLT_KFK_AUTHENTICATION: "CONFIG_INVALID",
  PLT_KFK_NETWORK: "TRANSIENT",
  PLT_KFK_TIMEOUT: "TIMEOUT",
  PLT_KFK_USER: "INVARIANT",
  PLT_KFK_UNSUPPORTED_API: "INVARIANT",
  PLT_KFK_UNSUPPORTED: "INVARIANT",
  // The socket errors under a PLT_KFK_NETWORK error (the root cause found below it).
  ECONNREFUSED: "TRANSIENT",
  ECONNRESET: "TRANSIENT",
  EPIPE: "TRANSIENT",
  ETIMEDOUT: "TRANSIENT",
  EHOSTUNREACH: "TRANSIENT",
  ENETUNREACH: "TRANSIENT",
  EAI_AGAIN: "TRANSIENT",
};

const HINTS: Partial<Record<ErrorCode, string>> = {
  TRANSIENT: "check that the brokers are reachable",
  TIMEOUT: "the broker did not answer in time; check its load and the client's requestTimeoutMs",
};

/** Depth-first: the first error in the tree with a protocol `apiId`, else the innermost cause. */
function rootCause(err: PlatformaticErrorLike, depth = 0): PlatformaticErrorLike {
  if (err.apiId !== undefined || depth > 10) return err;
  for (const inner of err.errors ?? []) {
    if (typeof inner !== "object" || inner === null) continue;
    const found = rootCause(inner as PlatformaticErrorLike, depth + 1);
    if (found.apiId !== undefined) return found;
  }
  if (typeof err.cause === "object" && err.cause !== null) {
    return rootCause(err.cause as PlatformaticErrorLike, depth + 1);
  }
  const first = err.errors?.[0];
  if (typeof first === "object" && first !== null)
    return rootCause(first as PlatformaticErrorLike, depth + 1);
  return err;
}

/**
 * Wraps a @platformatic/kafka error in a SpikemeshError with the same codes the kafkajs adapter
 * uses: protocol errors by name, client errors by their `PLT_KFK_*` code, anything else TRANSIENT
 * when the client says it may be retried and INVARIANT otherwise.
 */
export function fromPlatformaticError(
  err: unknown,
  what: string,
  context: ErrorContext = {},
): SpikemeshError {
  if (isSpikemeshError(err)) return err as SpikemeshError;
  if (typeof err !== "object" || err === null) {
    return new SpikemeshError("INVARIANT", `${what} failed: ${String(err)}`, { cause: err, context });
  }
  const top = err as PlatformaticErrorLike;
  const root = rootCause(top);
  const code =
    (root.apiId !== undefined ? PROTOCOL_CODES[root.apiId] : undefined) ??
    CLIENT_CODES[root.code ?? ""] ??
    CLIENT_CODES[top.code ?? ""] ??
    (root.canRetry === true ? "TRANSIENT" : "INVARIANT");
  const retriable = code === "TRANSIENT" || code === "TIMEOUT";
  const rootText = [root.apiId, root.serverErrorMessage ?? root.message].filter(Boolean).join(": ");
  const detail = root !== top && rootText !== top.message ? `${top.message} (${rootText})` : top.message;
  const hint = HINTS[code];
  return new SpikemeshError(code, `${what} failed: ${detail}${hint ? `; ${hint}` : ""}`, {
    retriable,
    cause: err,
    context,
  });
}

/** True when a protocol error named `apiId` occurs anywhere in the error tree. */
export function hasProtocolError(err: unknown, apiId: string, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 10) return false;
  const e = err as PlatformaticErrorLike;
  if (e.apiId === apiId) return true;
  if (e.errors?.some((inner) => hasProtocolError(inner, apiId, depth + 1))) return true;
  return hasProtocolError(e.cause, apiId, depth + 1);
}

/** True when a client error with `code` (e.g. "PLT_KFK_NETWORK") occurs anywhere in the error tree. */
export function hasClientError(err: unknown, code: string, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 10) return false;
  const e = err as PlatformaticErrorLike;
  if (e.code === code) return true;
  if (e.errors?.some((inner) => hasClientError(inner, code, depth + 1))) return true;
  return hasClientError(e.cause, code, depth + 1);
}

/**
 * Closes a client with `force` (streams and group membership included) and waits for it: the
 * client's `close(true)` overload takes a callback and returns nothing.
 */
export function closeForced(client: {
  close(force: boolean, callback: (error?: Error | null) => void): void;
}): Promise<void> {
  return new Promise((resolve, reject) => {
    client.close(true, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * True when a group or transaction coordinator moved or cannot be reached. The 1.x client caches
 * a coordinator's node id for the life of a consumer or producer and never looks it up again
 * (platformatic/kafka#290, fixed in 2.x, which needs Node 22), so these need a new client.
 */
export function isCoordinatorLost(err: unknown): boolean {
  return (
    hasProtocolError(err, "NOT_COORDINATOR") ||
    hasProtocolError(err, "COORDINATOR_NOT_AVAILABLE") ||
    hasClientError(err, "PLT_KFK_NETWORK")
  );
}
