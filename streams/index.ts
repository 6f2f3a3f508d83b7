export * from "./topology/index.js";
export { counter, gauge, histogram, LATENCY_BUCKETS_SECONDS } from "./metrics/metric-factory.js";
export { SpikemeshError, ConfigError, DecodeError, isSpikemeshError, describeError } from "./errors.js";
export type { ErrorCode, ErrorContext } from "./errors.js";
export { type Clock, type Random, ManualClock, seededRandom, systemClock } from "./clock.js";
export type { Logger } from "./logger.js";
