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
export { SNN_LOG_STATE_STORE, snnLogFilterSpec } from "./log/log-filter.js";
export { judgeLine, type LineLimits, type LineVerdict } from "./log/log-input-rules.js";
export { type LogMetrics, logMetrics } from "./log/log-metrics.js";
export {
  LOG_NEURON_ROLES,
  type LogDetection,
  LogNetwork,
  type LogNetworkConfig,
  type LogNeuronRole,
  type LogSourceState,
} from "./log/log-network.js";
export { type SnnLogFilterOptions, snnLogFilterOptions } from "./log/log-options.js";
export { type LogSpikeLine, logSpikeRecord } from "./log/log-spike-record.js";
export { LineMasker, MASK_NAMES, MASK_PATTERNS, type MaskName, WILDCARD } from "./log/template-masks.js";
export {
  type MinedLine,
  type MinerHeader,
  TemplateMiner,
  type TemplateMinerOptions,
  type TemplateState,
  templateMinerOptions,
} from "./log/template-miner.js";
export {
  TemplateRateEncoder,
  type TemplateRatesConfig,
  type TemplateRatesState,
} from "./log/template-rates.js";
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
