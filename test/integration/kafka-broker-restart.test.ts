/**
 * Broker restart (issue #11 item 3): a dedicated broker that this file starts on its own ports (the
 * shared test broker of the global setup is never touched) is stopped and started again while the
 * crash tests' two-stage stateful pipeline (crash-pipeline.ts) runs on it with exactly_once. The
 * runners must ride out the outage, reconnect and finish with the output a correct run gives:
 * count and checksum, 0 lost, 0 duplicated.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordTypes, type TelemetryEvent } from "../../schemas/index.js";
import type { KafkaClient } from "../../streams/kafka/index.js";
import { PlatformaticKafkaTransport } from "../../streams/kafka/index.js";
import { TopologyRunner } from "../../streams/topology/runner.js";
import type { OutgoingRecord, Transport } from "../../streams/transport/transport.js";
import {
  expectedOutput,
  inputEvent,
  PARTITIONS,
  pipelineTopology,
  STAGES,
  tallyOutput,
} from "./helpers/crash-pipeline.js";
import { type LocalBroker, startLocalBroker } from "./helpers/kafka-broker.js";
import { type KafkaHarness, kafkaHarness, TEST_RUNNER } from "./helpers/kafka-harness.js";
import { TEST_CLIENT } from "./helpers/test-client.js";

const N = 20_000;

let broker: LocalBroker;
beforeAll(async () => {
  broker = await startLocalBroker();
}, 300_000);
afterAll(async () => {
  await broker?.stop();
});

async function encode(h: KafkaHarness, topic: string, from: number, to: number): Promise<OutgoingRecord[]> {
  const records: OutgoingRecord[] = [];
  for (let seq = from; seq < to; seq++) {
    const value = inputEvent(seq);
    records.push({
      topic,
      key: Buffer.from(value.source),
      value: await h.codec.encode(topic, recordTypes.TelemetryEvent, value),
      timestampMs: value.ts,
    });
  }
  return records;
}

describe.each([
  { client: "platformatic" as KafkaClient, kill: true },
  { client: "kafkajs" as KafkaClient, kill: false },
])("broker restart ($client client)", ({ client, kill }) => {
  it(`the broker is ${kill ? "killed (SIGKILL)" : "stopped (SIGTERM)"} and restarted mid-stream; exactly-once runners reconnect and finish with nothing lost or doubled`, async () => {
    const h = await kafkaHarness({ brokers: broker.bootstrap });
    const runners: TopologyRunner[] = [];
    try {
      const appId = h.name("restart");
      const topics = { input: h.name("restart-in"), mid: h.name("restart-mid"), out: h.name("restart-out") };
      await h.admin.createTopics(Object.values(topics).map((name) => ({ name, partitions: PARTITIONS })));
      // The first half of the input before the outage, the second half after it.
      await h.produceRaw(await encode(h, topics.input, 0, N / 2));
      const transport = (): Transport =>
        client === "kafkajs"
          ? h.transport({ clientId: "spikemesh-restart" })
          : new PlatformaticKafkaTransport({
              brokers: [broker.bootstrap],
              clientId: "spikemesh-restart",
              logger: h.logger,
              ...TEST_CLIENT,
            });
      const owned: Transport[] = [];
      for (const stage of STAGES) {
        const t = transport();
        owned.push(t);
        const runner = new TopologyRunner(pipelineTopology(appId, topics, [stage]), {
          transport: t,
          codec: h.codec,
          logger: h.logger,
          ...TEST_RUNNER,
          guarantee: "exactly_once",
          lagIntervalMs: 0,
        });
        runners.push(runner);
        await runner.start();
      }
      let crash: unknown = null;
      for (const r of runners) r.crashed.catch((err: unknown) => (crash ??= err));
      const committed = async (stage: string, topic: string) =>
        (await h.admin.fetchCommittedOffsets(`${appId}.${stage}`, topic)).reduce((n, o) => n + o.offset, 0);
      // Mid-stream: both stages have committed some of the first half, neither all of it.
      await h.waitFor(
        "both stages to be under way",
        async () => ((await committed("stamp", topics.mid)) >= N / 10 ? true : undefined),
        120_000,
      );
      const tallyAtRestart = await committed("tally", topics.input);
      const restartStarted = performance.now();
      await broker.restart({ kill });
      const outageMs = Math.round(performance.now() - restartStarted);
      await h.produceRaw(await encode(h, topics.input, N / 2, N));

      const reader = h.transport().consumer({ groupId: h.name("restart-read"), readCommitted: true });
      const values: TelemetryEvent[] = [];
      try {
        await reader.subscribe([topics.out]);
        const deadline = performance.now() + 180_000;
        while (values.length < N) {
          if (crash !== null) throw crash;
          if (performance.now() > deadline)
            throw new Error(`only ${values.length} of ${N} records on ${topics.out} after the restart`);
          for (const rec of await reader.poll({ maxRecords: 10_000, maxWaitMs: 500 })) {
            values.push(
              (await h.codec.decode(rec.topic, recordTypes.TelemetryEvent, rec.value!)) as TelemetryEvent,
            );
          }
        }
      } finally {
        await reader.close();
      }
      for (const r of runners) await r.stop();
      for (const t of owned) await t.close();
      // Everything committed, read again to the end: nothing more arrived after the first N.
      const all = await h.seqs(await h.readToEnd(topics.out, { ms: 60_000 }));
      const tally = tallyOutput(values, N);
      console.log(
        `[broker-restart] ${JSON.stringify({ client, kill, events: N, tallyAtRestart, outageMs, ...tally })}`,
      );
      expect(tallyAtRestart).toBeLessThan(N / 2);
      expect(crash).toBeNull();
      expect(all.length).toBe(N);
      expect(tally).toEqual(tallyOutput(expectedOutput(N), N));
    } finally {
      for (const r of runners) await r.stop().catch(() => undefined);
      await h.close();
    }
  }, 600_000);
});
