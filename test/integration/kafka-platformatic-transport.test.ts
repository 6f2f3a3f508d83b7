import { inject } from "vitest";
import { PlatformaticKafkaTransport } from "../../streams/kafka/index.js";
import { transportContract } from "../unit/transport-contract.js";

/** The shared Transport contract on the second Kafka client, @platformatic/kafka, against the real broker. */
transportContract(
  "kafka (@platformatic/kafka)",
  async () => ({
    transport: new PlatformaticKafkaTransport({
      brokers: [inject("kafkaBrokers")],
      clientId: "spikemesh-contract-platformatic",
      heartbeatIntervalMs: 500,
      sessionTimeoutMs: 10_000,
      maxWaitTimeMs: 100,
    }),
    // Topics and groups are unique per test; the broker's data dir goes when the run ends.
    cleanup: async () => undefined,
  }),
  { deadlineMs: 30_000 },
);
