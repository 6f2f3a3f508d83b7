import { randomUUID } from "node:crypto";
import { describe, inject, it } from "vitest";
import { KafkaTransport } from "../../streams/kafka/index.js";
import { lagScenario } from "../helpers/lag-scenario.js";

describe("consumer lag on Kafka", () => {
  it("is the end offset minus the committed offset per group and partition", async () => {
    const transport = new KafkaTransport({
      brokers: [inject("kafkaBrokers")],
      clientId: "spikemesh-lag",
      heartbeatIntervalMs: 500,
      sessionTimeoutMs: 10_000,
      maxWaitTimeMs: 100,
    });
    try {
      await lagScenario(transport, randomUUID().slice(0, 8));
    } finally {
      await transport.close();
    }
  }, 90_000);
});
