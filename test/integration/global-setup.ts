import type { TestProject } from "vitest/node";
import { type LocalBroker, startLocalBroker } from "./helpers/kafka-broker.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Bootstrap address of the Kafka broker the integration tests run against. */
    kafkaBrokers: string;
  }
}

/**
 * Starts one real Kafka broker (scripts/kafka.sh) for the integration project and stops it when
 * the run ends. SPIKEMESH_TEST_KAFKA_BROKERS=host:port uses a running broker instead.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.SPIKEMESH_TEST_KAFKA_BROKERS;
  if (external !== undefined && external !== "") {
    project.provide("kafkaBrokers", external);
    return async () => undefined;
  }
  const started = performance.now();
  // The log cleaner looks for work every 0.5 s instead of 15 s, so compaction tests finish quickly.
  const broker: LocalBroker = await startLocalBroker({ props: { "log.cleaner.backoff.ms": "500" } });
  process.stderr.write(
    `[kafka] test broker ${broker.bootstrap} up after ${Math.round(performance.now() - started)} ms\n`,
  );
  project.provide("kafkaBrokers", broker.bootstrap);
  return () => broker.stop();
}
