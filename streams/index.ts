export { type Clock, ManualClock, type Random, seededRandom, systemClock } from "./clock.js";
export type { ErrorCode, ErrorContext } from "./errors.js";
export { ConfigError, DecodeError, describeError, isSpikemeshError, SpikemeshError } from "./errors.js";
export type { Logger } from "./logger.js";
export type { HotCounter, HotHistogram } from "./metrics/hot-metrics.js";
export { LabelValues, OTHER_LABEL } from "./metrics/label-values.js";
export {
  counter,
  disabledMetrics,
  gauge,
  histogram,
  hotCounter,
  hotHistogram,
  isMetricsDisabled,
  LATENCY_BUCKETS_SECONDS,
} from "./metrics/metric-factory.js";
export * from "./topology/index.js";
