import type { KafkaTransportOptions } from "../../../streams/kafka/index.js";

/**
 * Client settings that make group changes quick on one local broker (6 s is the broker's minimum
 * session timeout), shared by the tests and the child processes they start.
 */
export const TEST_CLIENT: Partial<KafkaTransportOptions> = {
  heartbeatIntervalMs: 500,
  sessionTimeoutMs: 6000,
  rebalanceTimeoutMs: 10_000,
  maxWaitTimeMs: 100,
};
