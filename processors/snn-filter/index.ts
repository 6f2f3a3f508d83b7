export { DecayingStats, type DecayingStatsState, MAX_ABS_SCORE, MAX_ABS_VALUE } from "./decaying-stats.js";
export {
  DeltaEncoder,
  type DeltaEncoderState,
  type Encoder,
  type Encoding,
  type ScoreEncoderConfig,
  ZScoreEncoder,
} from "./encoders.js";
export {
  type LifConfig,
  type LifNeuronConfig,
  LifPopulation,
  type LifSlotState,
  type LifStep,
  NO_SPIKE,
} from "./lif-population.js";
export { type SnnFilterOptions, snnFilterOptions } from "./options.js";
export { type RecentSummary, RecentWindow } from "./recent-window.js";
export {
  ROUTER_RANK,
  SNN_STATE_STORE,
  type SnnFilterOutputs,
  snnFilterSpec,
  traceIdOf,
} from "./snn-filter.js";
export { type InvalidReason, type SnnMetrics, snnMetrics } from "./snn-metrics.js";
export {
  type Detection,
  type KeyState,
  NEURON_ROLES,
  type NeuronRole,
  TelemetryNetwork,
  type TelemetryNetworkConfig,
} from "./telemetry-network.js";
