/**
 * Kafka cases of the bench, on a local broker the bench starts itself: for each client, the raw
 * consume → produce passthrough written against the client's own API (baseline) against the
 * spikemesh SNN-filter pipeline on that client's Transport (ours), over the same input topic;
 * then event → spike latency under a paced load, with the raw passthrough's event → copy latency
 * beside it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createKafkaTransport, type KafkaClient } from "../streams/kafka/index.js";
import { RegistryCodec, RegistrySerde, SchemaRegistryServer } from "../streams/serde/index.js";
import type { Guarantee } from "../streams/topology/runner.js";
import type { Transport } from "../streams/transport/transport.js";
import { type BenchBroker, startBenchBroker } from "./kafka-broker.js";
import { type LatencyStats, measureLatency } from "./kafka-latency.js";
import { startPipeline } from "./kafka-pipeline.js";
import {
  kafkajsPassthrough,
  type PassthroughFactory,
  type PassthroughRun,
  platformaticPassthrough,
} from "./kafka-raw.js";
import { encodeEvents, produceAll, TelemetryWorkload } from "./kafka-workload.js";
import type { Sample, Suite } from "./measure.js";

export interface KafkaBenchOptions {
  tmpRoot: string;
  clients: readonly KafkaClient[];
  /** Input records per trial. */
  records: number;
  partitions: number;
  batchSize: number;
  guarantee: Guarantee;
  /** Paced load of the latency runs, records/s, and how many records it sends. */
  latencyRatePerSec: number;
  latencyRecords: number;
}

export interface LatencyRow {
  client: KafkaClient;
  pipeline: LatencyStats;
  raw: LatencyStats;
}

export interface KafkaBench {
  broker: BenchBroker;
  suites: Suite[];
  /** Runs the latency measurements (after the suites, on the same broker). */
  latency(): Promise<LatencyRow[]>;
  close(): Promise<void>;
}

const RAW: Record<KafkaClient, PassthroughFactory> = {
  kafkajs: kafkajsPassthrough,
  platformatic: platformaticPassthrough,
};
const MAX_WAIT_MS = 100;
const INPUT = "bench.telemetry.raw";

export const kafkaCaseName = (client: KafkaClient): string => `kafka ${client}: SNN pipeline vs passthrough`;
const dropAllCaseName = (client: KafkaClient): string => `kafka ${client}: drop-all processor vs passthrough`;

/** Times a run from its first delivered record to its last committed one. */
async function timedRun(
  start: () => Promise<PassthroughRun>,
  records: number,
  bytes: number,
): Promise<Sample> {
  const run = await start();
  try {
    const [first, done] = await Promise.all([run.firstRecordAt, run.done]);
    return { records, bytes, seconds: (done - first) / 1000 };
  } finally {
    await run.stop();
  }
}

export async function startKafkaBench(o: KafkaBenchOptions): Promise<KafkaBench> {
  const dataDir = mkdtempSync(join(o.tmpRoot, "kafka-registry-"));
  const registry = new SchemaRegistryServer({ dataDir });
  const codec = new RegistryCodec(new RegistrySerde({ url: await registry.start() }));
  const transports = new Map<KafkaClient, Transport>();
  let broker: BenchBroker | undefined;
  const close = async (): Promise<void> => {
    for (const t of transports.values()) await t.close().catch(() => undefined);
    await broker?.stop();
    await registry.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    broker = await startBenchBroker();
    const brokers = [broker.bootstrap];
    for (const client of o.clients) {
      transports.set(client, createKafkaTransport({ brokers, client, maxWaitTimeMs: MAX_WAIT_MS }));
    }
    const first = transports.values().next().value as Transport;
    const workload = new TelemetryWorkload({ sources: 100, anomalyRate: 0.01, seed: 11 });
    const records = await encodeEvents(codec, INPUT, workload.events(o.records));
    const bytes = records.reduce((n, r) => n + r.key.length + r.value.length, 0);
    await first.admin().createTopics([{ name: INPUT, partitions: o.partitions }]);
    await produceAll(first.producer(), INPUT, records, o.batchSize);

    let trial = 0;
    const suites = o.clients.map((client): Suite => {
      const transport = transports.get(client)!;
      const name = kafkaCaseName(client);
      const dropAll = dropAllCaseName(client);
      const pipeline = (processor: "snn-filter" | "drop-all"): Promise<Sample> => {
        const id = `bench.${client}.${processor}.${trial++}`;
        return timedRun(
          () =>
            startPipeline({
              processor,
              transport,
              codec,
              appId: id,
              input: INPUT,
              spikes: `${id}.spikes`,
              partitions: o.partitions,
              expected: records.length,
              batchSize: o.batchSize,
              guarantee: o.guarantee,
            }),
          records.length,
          bytes,
        );
      };
      return {
        cases: [name, dropAll],
        spikemesh: {
          label: `TopologyRunner (${o.guarantee}) over ${client}, RegistryCodec; snnFilterSpec, or a processor that drops every record`,
          trial: async () => ({
            [name]: await pipeline("snn-filter"),
            [dropAll]: await pipeline("drop-all"),
          }),
        },
        baseline: {
          label: `${client} consume → produce passthrough (client API, idempotent, commit per batch)`,
          trial: async () => {
            const id = `bench.${client}.raw.${trial++}`;
            await transport.admin().createTopics([{ name: `${id}.out`, partitions: o.partitions }]);
            const sample = await timedRun(
              () =>
                RAW[client]({
                  brokers,
                  input: INPUT,
                  output: `${id}.out`,
                  groupId: id,
                  expected: records.length,
                  batchSize: o.batchSize,
                  maxWaitTimeMs: MAX_WAIT_MS,
                }),
              records.length,
              bytes,
            );
            return { [name]: sample, [dropAll]: sample };
          },
        },
      };
    });

    const latency = async (): Promise<LatencyRow[]> => {
      const rows: LatencyRow[] = [];
      const lat = new TelemetryWorkload({ sources: 50, anomalyRate: 0.05, seed: 12 });
      const warmCount = 100 * 45;
      const warmEvents = lat.events(warmCount);
      const pacedEvents = lat.events(o.latencyRecords, lat.steps(warmCount));
      for (const client of o.clients) {
        const transport = transports.get(client)!;
        const measure = async (kind: "pipeline" | "raw"): Promise<LatencyStats> => {
          const id = `bench.latency.${client}.${kind}`;
          const input = `${id}.in`;
          const output = `${id}.out`;
          await transport.admin().createTopics([
            { name: input, partitions: o.partitions },
            { name: output, partitions: o.partitions },
          ]);
          const warmup = await encodeEvents(codec, input, warmEvents);
          const paced = await encodeEvents(codec, input, pacedEvents);
          const expected = warmup.length + paced.length;
          return measureLatency({
            transport,
            codec,
            input,
            output,
            outputKind: kind === "pipeline" ? "spikes" : "copies",
            warmup,
            paced,
            ratePerSec: o.latencyRatePerSec,
            start: () =>
              kind === "pipeline"
                ? startPipeline({
                    transport,
                    codec,
                    appId: id,
                    input,
                    spikes: output,
                    partitions: o.partitions,
                    expected,
                    batchSize: o.batchSize,
                    guarantee: o.guarantee,
                  })
                : RAW[client]({
                    brokers,
                    input,
                    output,
                    groupId: id,
                    expected,
                    batchSize: o.batchSize,
                    maxWaitTimeMs: MAX_WAIT_MS,
                  }),
          });
        };
        process.stderr.write(`  latency ${client}: pipeline, then raw passthrough\n`);
        rows.push({ client, pipeline: await measure("pipeline"), raw: await measure("raw") });
      }
      return rows;
    };
    return { broker, suites, latency, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
