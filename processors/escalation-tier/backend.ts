import type { ReasoningRequest, Verdict } from "../../schemas/index.js";

/** A backend's answer to one request; the worker turns it into a ReasoningResult. */
export interface TierAnswer {
  verdict: Verdict;
  /** 0 to 1; out-of-range or non-finite values are clamped by the worker. */
  confidence: number;
  /** A suggested control action (the control sink checks its whitelist), or null. */
  action: string | null;
  /** Short explanation for operators. */
  summary: string;
  /** Tokens generated; 0 for backends without a model. */
  tokens: number;
  /** Prompt tokens the model read (after prefix reuse, where the backend knows); default 0. */
  promptTokens?: number;
  /**
   * The answer says the case is novel or correlated across sources: a tier with `handUpTier` hands
   * it to that (deeper) tier as well. Default false.
   */
  handUp?: boolean;
}

/**
 * What answers a tier's requests: rules, node-llama-cpp with a local GGUF, or an OpenAI-compatible
 * HTTP server. One instance per processor instance (partition); backends that hold a model share it
 * between instances.
 */
export interface TierBackend {
  /** Backend kind, e.g. "rules", "llama", "http". */
  readonly name: string;
  /** Model that answers; the `model` field of results and a metric label, so keep it a config value. */
  readonly model: string;
  /** Loads models or opens connections; called once from the processor's init(). */
  open?(signal: AbortSignal): Promise<void>;
  /**
   * Answers one request. Must honour `signal` (shutdown). Throwing is fine: the worker turns the error
   * into a result with `error` set; an abort is rethrown as shutdown.
   */
  answer(request: ReasoningRequest, signal: AbortSignal): Promise<TierAnswer>;
  close?(): Promise<void>;
}
