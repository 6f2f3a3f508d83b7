export { type SnnFilterOutputs, snnFilter, SNN_STATE_STORE, ROUTER_RANK, traceIdOf } from "./snn-filter.js";
export { type SnnFilterOptions, snnFilterOptions } from "./options.js";
export {
  type Detection,
  type KeyState,
  NEURON_ROLES,
  type NeuronRole,
  TelemetryNetwork,
  type TelemetryNetworkConfig,
} from "./telemetry-network.js";
export {
  type LifConfig,
  type LifNeuronConfig,
  LifPopulation,
  type LifSlotState,
  type LifStep,
  NO_SPIKE,
} from "./lif-population.js";
export {
  DeltaEncoder,
  type DeltaEncoderState,
  type Encoder,
  type Encoding,
  type ScoreEncoderConfig,
  ZScoreEncoder,
} from "./encoders.js";
export { DecayingStats, type DecayingStatsState, MAX_ABS_SCORE } from "./decaying-stats.js";
export { type RecentSummary, RecentWindow } from "./recent-window.js";
export { type InvalidReason, type SnnMetrics, snnMetrics } from "./snn-metrics.js";
