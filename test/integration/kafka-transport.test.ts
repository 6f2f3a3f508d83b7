import { inject } from "vitest";
import { KafkaTransport } from "../../streams/kafka/index.js";
import { transportContract } from "../unit/transport-contract.js";

transportContract(
  "kafka",
  async () => ({
    transport: new KafkaTransport({
      brokers: [inject("kafkaBrokers")],
      clientId: "spikemesh-contract",
      heartbeatIntervalMs: 500,
      sessionTimeoutMs: 10_000,
      maxWaitTimeMs: 100,
    }),
    // Topics and groups are unique per test; the broker's data dir goes when the run ends.
    cleanup: async () => undefined,
  }),
  { deadlineMs: 30_000 },
);
