export type { TierAnswer, TierBackend } from "./backend.js";
export { type CallOutcome, callBackend, type FailureKind, type RetryPolicy } from "./backend-call.js";
export { type BreakerState, CircuitBreaker } from "./circuit-breaker.js";
export {
  ASSIGNED_WORKER_HEADER,
  type ClusterWorkerOptions,
  type ClusterWorkerOutputs,
  clusterWorkerOptionsSchema,
  createClusterWorkerSpec,
  WorkerStats,
} from "./cluster-worker.js";
export { createTierBackend } from "./create-backend.js";
export {
  type BackendFactory,
  createEscalationTierSpec,
  DEADLINE_EXCEEDED,
  type EscalationTierOutputs,
  escalationTierSpec,
} from "./escalation-tier.js";
export { HttpBackend, type HttpBackendOptions, httpBackendOptionsSchema } from "./http-backend.js";
export { LlamaBackend, type LlamaBackendOptions, llamaBackendOptionsSchema } from "./llama-backend.js";
export {
  type ChatMessage,
  type GenerateRequest,
  type Generation,
  LlamaEngine,
  type LlamaEngineOptions,
} from "./llama-engine.js";
export {
  type BackendOptions,
  backendOptionsSchema,
  type EscalationTierOptions,
  escalationTierOptionsSchema,
} from "./options.js";
export { caseData, defaultPromptDir, PromptTemplate } from "./prompt.js";
export {
  NOT_RECORDED,
  RecordedBackend,
  type RecordedBackendOptions,
  recordedBackendOptionsSchema,
} from "./recorded-backend.js";
export { RulesBackend, type RulesBackendOptions, rulesBackendOptionsSchema } from "./rules-backend.js";
export {
  CONFIDENCE_STEPS,
  MODEL_VERDICTS,
  type ModelVerdict,
  parseVerdict,
  type VerdictShape,
  verdictJsonSchema,
} from "./verdict.js";
