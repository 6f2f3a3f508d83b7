/**
 * One escalation tier (http backend) on Kafka in its own process, for the overload test in
 * model-faults.test.ts (not a test itself), so its memory is measured apart from the test's:
 *   node --import <tsx loader> tier-child.ts <brokers> <registryUrl> <appId> <input> <results> <baseUrl> <maxQueuedRecords>
 * Prints "started", then every 500 ms "stats <rss bytes> <paused partitions> <results>". SIGTERM
 * stops it gracefully ("stopped", exit 0).
 */
import { escalationTierSpec } from "../../../processors/escalation-tier/index.js";
import { createKafkaTransport } from "../../../streams/kafka/index.js";
import { silentLogger } from "../../../streams/logger.js";
import { RegistryCodec, RegistrySerde } from "../../../streams/serde/index.js";
import { TopologyRunner } from "../../../streams/topology/runner.js";
import { TEST_CLIENT } from "./test-client.js";

const [brokers, registryUrl, appId, input, results, baseUrl, maxQueuedText] = process.argv.slice(2);
if (!brokers || !registryUrl || !appId || !input || !results || !baseUrl || !maxQueuedText) {
  console.error(
    "usage: tier-child.ts <brokers> <registryUrl> <appId> <input> <results> <baseUrl> <maxQueuedRecords>",
  );
  process.exit(2);
}

const transport = createKafkaTransport({
  brokers: [brokers],
  clientId: "spikemesh-tier-child",
  ...TEST_CLIENT,
});
const runner = new TopologyRunner(
  {
    appId,
    defaultPartitions: 3,
    nodes: [
      {
        name: "tier-phi2",
        spec: escalationTierSpec,
        input,
        // No fallback or hand-up tier is configured: those outputs stay empty but must be bound.
        outputs: { results, fallback: `${results}.unused`, handUp: `${results}.unused` },
        options: {
          tier: "phi2",
          backend: { kind: "http", baseUrl, model: "slow" },
          timeoutMs: 30_000,
          maxAttempts: 1,
        },
      },
    ],
  },
  {
    transport,
    codec: new RegistryCodec(new RegistrySerde({ url: registryUrl })),
    logger: silentLogger(),
    maxQueuedRecords: Number(maxQueuedText),
    lagIntervalMs: 0,
  },
);

/** Sum of a metric's series; 0 until the metric exists (tier metrics appear with the first partition). */
async function sum(name: string): Promise<number> {
  const metric = runner.metrics.getSingleMetric(name);
  if (metric === undefined) return 0;
  return (await metric.get()).values.reduce((n, v) => n + v.value, 0);
}
const reporter = setInterval(() => {
  void (async () => {
    const paused = await sum("spikemesh_partitions_paused");
    const answered = await sum("spikemesh_escalation_tier_requests_total");
    process.stdout.write(`stats ${process.memoryUsage().rss} ${paused} ${answered}\n`);
  })().catch((err: unknown) => console.error(err));
}, 500);

process.once("SIGTERM", () => {
  void (async () => {
    clearInterval(reporter);
    await runner.stop();
    await transport.close();
    process.stdout.write("stopped\n");
    process.exit(0);
  })().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
runner.crashed.catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
await runner.start();
process.stdout.write("started\n");
