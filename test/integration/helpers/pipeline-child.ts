/**
 * The crash tests' pipeline (crash-pipeline.ts) in its own process, with guarantee exactly_once (not
 * a test itself):
 *   node --import <tsx loader> pipeline-child.ts <runtime> <registryUrl> <appId> <stages> <input> <mid> <out>
 * <runtime> is `kafka:<client>:<brokers>` (client platformatic or kafkajs) or `embedded:<dataDir>`;
 * <stages> is `tally`, `stamp` or `tally,stamp`. Prints "progress <a> <b> ..." (committed input
 * offsets per stage, summed over partitions) once before it starts (what the last process left
 * committed) and then every 200 ms (when the event loop gets to it), "started" once running and
 * "processed <n>" every 1000 records this process processed. SIGTERM stops the runner
 * gracefully: "stopped", exit 0. The tests SIGKILL it at any moment.
 */

import { EmbeddedTransport } from "../../../streams/embedded/index.js";
import { createKafkaTransport, type KafkaClient } from "../../../streams/kafka/index.js";
import { silentLogger } from "../../../streams/logger.js";
import { RegistryCodec, RegistrySerde } from "../../../streams/serde/index.js";
import { TopologyRunner } from "../../../streams/topology/runner.js";
import { groupId } from "../../../streams/topology/topology.js";
import type { Transport } from "../../../streams/transport/transport.js";
import { pipelineTopology, STAGES, type Stage } from "./crash-pipeline.js";
import { TEST_CLIENT } from "./test-client.js";

const [runtime, registryUrl, appId, stagesText, input, mid, out] = process.argv.slice(2);
if (!runtime || !registryUrl || !appId || !stagesText || !input || !mid || !out) {
  console.error("usage: pipeline-child.ts <runtime> <registryUrl> <appId> <stages> <input> <mid> <out>");
  process.exit(2);
}
const stages = stagesText.split(",") as Stage[];
if (stages.length === 0 || stages.some((s) => !STAGES.includes(s))) {
  console.error(`unknown stage in "${stagesText}"; stages: ${STAGES.join(", ")}`);
  process.exit(2);
}

function openTransport(spec: string): Transport {
  const [kind, ...rest] = spec.split(":");
  if (kind === "embedded") return new EmbeddedTransport({ dataDir: rest.join(":") });
  const [client, ...brokers] = rest;
  return createKafkaTransport({
    client: client as KafkaClient,
    brokers: [brokers.join(":")],
    clientId: `spikemesh-crash-${stagesText}`,
    ...TEST_CLIENT,
  });
}

let processed = 0;
const transport = openTransport(runtime);
const topology = pipelineTopology(appId, { input, mid, out }, stages, () => {
  if (++processed % 1000 === 0) process.stdout.write(`processed ${processed}\n`);
});
const runner = new TopologyRunner(topology, {
  transport,
  codec: new RegistryCodec(new RegistrySerde({ url: registryUrl })),
  logger: silentLogger(),
  guarantee: "exactly_once",
  maxBatchRecords: 500,
  maxWaitMs: 50,
  lagIntervalMs: 0,
});

const admin = transport.admin();
async function progress(): Promise<void> {
  const sums: number[] = [];
  for (const node of topology.nodes) {
    const offsets = await admin.fetchCommittedOffsets(groupId(topology.appId, node), node.input);
    sums.push(offsets.reduce((n, o) => n + o.offset, 0));
  }
  process.stdout.write(`progress ${sums.join(" ")}\n`);
}
let reporting = false;
const reporter = setInterval(() => {
  if (reporting) return;
  reporting = true;
  progress()
    .catch(() => undefined)
    .finally(() => {
      reporting = false;
    });
}, 200);

async function shutdown(): Promise<void> {
  try {
    clearInterval(reporter);
    await runner.stop();
    await transport.close();
    process.stdout.write("stopped\n");
    process.exit(0);
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
}
process.once("SIGTERM", () => void shutdown());

runner.crashed.catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
await progress();
await runner.start();
process.stdout.write("started\n");
