export { DecayingStats, type DecayingStatsState, MAX_ABS_SCORE, MAX_ABS_VALUE } from "./decaying-stats.js";
export {
  DeltaEncoder,
  type DeltaEncoderState,
  type Encoder,
  excess,
  type ScoreEncoderConfig,
  ZScoreEncoder,
} from "./encoders.js";
export { type InputLimits, judgeSample, type SampleVerdict } from "./input-rules.js";
export { KeyClock, type KeyClockState } from "./key-clock.js";
export {
  type LevelCrossingConfig,
  LevelCrossingEncoder,
  type LevelCrossingState,
} from "./level-crossing-encoder.js";
export {
  type LifConfig,
  type LifNeuronConfig,
  LifPopulation,
  type LifSlotState,
  type LifStep,
  NO_SPIKE,
} from "./lif-population.js";
export { type SnnFilterOptions, type StdpOptions, snnFilterOptions, stdpOptions } from "./options.js";
export { type RecentSummary, RecentWindow } from "./recent-window.js";
export { SeasonalEncoder, type SeasonalEncoderConfig, type SeasonalState } from "./seasonal-encoder.js";
export {
  SNN_STATE_STORE,
  type SnnFilterOutputs,
  type SnnFilterScoredOutputs,
  snnFilterSpec,
  snnFilterWithScoresSpec,
} from "./snn-filter.js";
export { type InvalidReason, type SnnMetrics, snnMetrics } from "./snn-metrics.js";
export { ROUTER_RANK, spikeRecord, traceIdOf } from "./spike-record.js";
export { InputSynapses, type SynapseState } from "./synapses.js";
export {
  anomalyScoreOf,
  CHANNELS,
  type Detection,
  type KeyState,
  NEURON_ROLES,
  type NeuronRole,
  TelemetryNetwork,
  type TelemetryNetworkConfig,
  type ValueBasis,
} from "./telemetry-network.js";
