export type { TierAnswer, TierBackend } from "./backend.js";
export { createTierBackend } from "./create-backend.js";
export {
  createEscalationTierSpec,
  DEADLINE_EXCEEDED,
  type EscalationTierOutputs,
  escalationTierSpec,
} from "./escalation-tier.js";
export {
  type BackendOptions,
  backendOptionsSchema,
  type EscalationTierOptions,
  escalationTierOptionsSchema,
} from "./options.js";
export { RulesBackend, type RulesBackendOptions, rulesBackendOptionsSchema } from "./rules-backend.js";
