export {
  expertName,
  RESERVED_EXPERT_NAMES,
  type SwarmConductorOptions,
  type SwarmExpertOptions,
  type SwarmIntakeOptions,
  swarmConductorOptionsSchema,
  swarmExpertOptionsSchema,
  swarmIntakeOptionsSchema,
  swarmMemorySchema,
  swarmRouteSchema,
} from "./options.js";
export { builtInRole, EXPERT_ROLES, type ExpertRole } from "./roles.js";
export {
  createSwarmConductorSpec,
  EPISODIC_STORE,
  SHORT_TERM_STORE,
  type SwarmConductorOutputs,
  THOUGHTS_STORE,
} from "./swarm-conductor.js";
export {
  createSwarmExpertSpec,
  type ExpertAnswer,
  type ExpertBackend,
  type ExpertBackends,
  type SwarmExpertOutputs,
} from "./swarm-expert.js";
export {
  findCycle,
  nextActivations,
  type RouteKind,
  type SwarmRoute,
  type WaveAnswer,
} from "./swarm-graph.js";
export { inputMessage, type SwarmIntakeOutputs, swarmIntakeSpec } from "./swarm-intake.js";
export {
  addEpisode,
  consolidate,
  type Episode,
  emptyShortTerm,
  type MemoryItem,
  type MemoryLimits,
  remember,
  type ShortTermMemory,
} from "./swarm-memory.js";
export {
  chooseAnswer,
  type StopReason,
  type ThoughtState,
  type ThoughtStep,
} from "./thought.js";
