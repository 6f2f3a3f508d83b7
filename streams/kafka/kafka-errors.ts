import { type ErrorCode, type ErrorContext, isSpikemeshError, SpikemeshError } from "../errors.js";

/** The fields kafkajs errors carry (KafkaJSError and subclasses); matched by name and type, not class. */
interface KafkaJsErrorLike {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  errors?: unknown[];
}

const PROTOCOL_CODES: Record<string, ErrorCode> = {
  UNKNOWN_TOPIC_OR_PARTITION: "TOPIC_UNKNOWN",
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
  MESSAGE_TOO_LARGE: "RECORD_TOO_LARGE",
  RECORD_LIST_TOO_LARGE: "RECORD_TOO_LARGE",
  INVALID_PRODUCER_EPOCH: "INVARIANT",
  PRODUCER_FENCED: "INVARIANT",
  REQUEST_TIMED_OUT: "TIMEOUT",
  // The group moved on (a member joined or left) while a commit was in flight: the partitions may
  // belong to someone else now. Retriable: the node rejoins and reads from the committed offsets.
  ILLEGAL_GENERATION: "TRANSIENT",
  REBALANCE_IN_PROGRESS: "TRANSIENT",
  UNKNOWN_MEMBER_ID: "TRANSIENT",
};

const NAME_CODES: Record<string, ErrorCode> = {
  KafkaJSSASLAuthenticationError: "CONFIG_INVALID",
  KafkaJSRequestTimeoutError: "TIMEOUT",
  KafkaJSConnectionError: "TRANSIENT",
  KafkaJSConnectionClosedError: "TRANSIENT",
  KafkaJSBrokerNotFound: "TRANSIENT",
  KafkaJSNoBrokerAvailableError: "TRANSIENT",
  KafkaJSLockTimeout: "TRANSIENT",
  KafkaJSMetadataNotLoaded: "TRANSIENT",
  KafkaJSTopicMetadataNotLoaded: "TRANSIENT",
  // Thrown (not retriable in kafkajs's eyes) when no broker knows the coordinator, e.g. while a
  // broker restarts; the coordinator comes back with it.
  KafkaJSGroupCoordinatorNotFound: "TRANSIENT",
};

const SASL_HINT = "check the SASL mechanism, username and password the client is configured with";

const HINTS: Partial<Record<ErrorCode, string>> = {
  TRANSIENT: "check that the brokers are reachable",
  TIMEOUT: "the broker did not answer in time; check its load and the client's requestTimeoutMs",
};

/** The innermost kafkajs error with a protocol `type`, or the innermost cause. */
function rootCause(err: KafkaJsErrorLike): KafkaJsErrorLike {
  let current = err;
  for (let depth = 0; depth < 10; depth++) {
    if (current.type !== undefined) return current;
    const next = current.cause ?? current.errors?.[0];
    if (typeof next !== "object" || next === null) return current;
    current = next as KafkaJsErrorLike;
  }
  return current;
}

/**
 * Wraps a kafkajs error in a SpikemeshError: protocol error types and error names map to codes
 * (unknown topic, config rejected, record too large, fenced, timeout, transient), everything else
 * becomes TRANSIENT when kafkajs says it is retriable and INVARIANT otherwise.
 */
export function fromKafkaError(err: unknown, what: string, context: ErrorContext = {}): SpikemeshError {
  if (isSpikemeshError(err)) return err as SpikemeshError;
  if (typeof err !== "object" || err === null) {
    return new SpikemeshError("INVARIANT", `${what} failed: ${String(err)}`, { cause: err, context });
  }
  const top = err as KafkaJsErrorLike;
  const root = rootCause(top);
  const code =
    (root.type !== undefined ? PROTOCOL_CODES[root.type] : undefined) ??
    NAME_CODES[root.name ?? ""] ??
    NAME_CODES[top.name ?? ""] ??
    (top.retriable === true || root.retriable === true || top.name === "KafkaJSNumberOfRetriesExceeded"
      ? "TRANSIENT"
      : "INVARIANT");
  const retriable = code === "TRANSIENT" || code === "TIMEOUT";
  const detail =
    root !== top && root.message !== top.message ? `${top.message} (${root.message})` : top.message;
  const isAuthFailure =
    root.type === "SASL_AUTHENTICATION_FAILED" ||
    root.name === "KafkaJSSASLAuthenticationError" ||
    top.name === "KafkaJSSASLAuthenticationError";
  const hint = isAuthFailure ? SASL_HINT : HINTS[code];
  return new SpikemeshError(code, `${what} failed: ${detail}${hint ? `; ${hint}` : ""}`, {
    retriable,
    cause: err,
    context,
  });
}

/** True for kafkajs protocol errors of `type` anywhere in the cause chain. */
export function hasKafkaErrorType(err: unknown, type: string): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as KafkaJsErrorLike;
  if (e.type === type) return true;
  if (e.errors?.some((inner) => hasKafkaErrorType(inner, type))) return true;
  return hasKafkaErrorType(e.cause, type);
}
