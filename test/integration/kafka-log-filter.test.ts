import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LabelledLine, LogGenerator } from "../../cli/demo/log-generator.js";
import { snnLogFilterSpec } from "../../processors/snn-filter/index.js";
import { type LogEvent, recordTypes, type SpikeRecord } from "../../schemas/index.js";
import { type Topology, waitForDrain } from "../../streams/index.js";
import { DLQ_HEADERS } from "../../streams/topology/dlq.js";
import type { IncomingRecord, OutgoingRecord } from "../../streams/transport/transport.js";
import { type KafkaHarness, kafkaHarness } from "./helpers/kafka-harness.js";

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

// The log path on the real broker: LogEvents on a logs topic through the snn-log-filter under the
// TopologyRunner (Kafka transport, registry codec), spikes and dead letters on real topics, and the
// miner's and sources' state in a changelog topic that a second instance restores.
describe("snn-log-filter on a real Kafka broker", { timeout: 180_000 }, () => {
  let h: KafkaHarness;
  beforeEach(async () => {
    h = await kafkaHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function produceLines(topic: string, events: LogEvent[]): Promise<void> {
    const records: OutgoingRecord[] = [];
    for (const e of events) {
      records.push({
        topic,
        key: Buffer.from(e.source),
        value: await h.codec.encode(topic, recordTypes.LogEvent, e),
        timestampMs: e.ts,
      });
    }
    for (let i = 0; i < records.length; i += 2_000) await h.produceRaw(records.slice(i, i + 2_000));
  }

  async function spikesOf(records: IncomingRecord[]): Promise<SpikeRecord[]> {
    const out: SpikeRecord[] = [];
    for (const r of records)
      out.push((await h.codec.decode(r.topic, recordTypes.SpikeRecord, r.value!)) as SpikeRecord);
    return out.sort((a, b) => a.timestamp - b.timestamp);
  }

  const lines = (generator: LogGenerator): LabelledLine[] => [...generator.lines()];

  it("spikes at a new template, dead-letters a blank line, and a restarted instance resumes from the changelog", async () => {
    const input = h.name("logs");
    const spikesTopic = h.name("spikes");
    const topology: Topology = {
      appId: h.name("app"),
      defaultPartitions: 2,
      nodes: [
        { spec: snnLogFilterSpec, options: { warmupLines: 300 }, input, outputs: { spikes: spikesTopic } },
      ],
    };
    const sources = ["web-1", "db-1"];
    // First instance: 90 minutes, db-1 starts logging disk errors at minute 75.
    const first = lines(
      new LogGenerator({
        startMs: T0,
        durationMs: 90 * MIN,
        sources,
        linesPerSec: 1,
        incidents: [
          {
            name: "disk",
            sources: ["db-1"],
            kind: "disk-error",
            startMs: T0 + 75 * MIN,
            endMs: T0 + 90 * MIN,
            ratePerSec: 0.1,
          },
        ],
        seed: 31,
      }),
    );
    const blank: LogEvent = { ts: T0 + 90 * MIN, source: "web-1", level: "INFO", message: " ", fields: {} };
    const a = h.runner(topology);
    await a.start();
    await produceLines(input, [...first.map((l) => l.event), blank]);
    await waitForDrain(h.transport(), topology);
    await a.stop();

    const spikes1 = await spikesOf(await h.readToEnd(spikesTopic));
    const firstDisk = first.find((l) => l.label === "disk-error")!.event;
    expect(spikes1.filter((s) => s.timestamp < firstDisk.ts)).toEqual([]);
    expect(spikes1[0]).toMatchObject({ source: "db-1", timestamp: firstDisk.ts });
    expect(JSON.parse(spikes1[0]!.payload)).toMatchObject({
      metric: "log.template.new",
      example: firstDisk.message,
    });
    const dlq = await h.readToEnd(`${input}.dlq`);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]?.headers[DLQ_HEADERS.message]).toContain("message of web-1 is blank");

    // Second instance, 20 more minutes: disk errors go on (a known template now), and db-1 logs
    // a refused database connection 30 s in, within what would be its warm-up without the state.
    const second = lines(
      new LogGenerator({
        startMs: T0 + 90 * MIN,
        durationMs: 20 * MIN,
        sources,
        linesPerSec: 1,
        incidents: [
          {
            name: "disk",
            sources: ["db-1"],
            kind: "disk-error",
            startMs: T0 + 90 * MIN,
            endMs: T0 + 110 * MIN,
            ratePerSec: 0.1,
          },
          {
            name: "db",
            sources: ["db-1"],
            kind: "db-refused",
            startMs: T0 + 90.5 * MIN,
            endMs: T0 + 110 * MIN,
            ratePerSec: 0.05,
          },
        ],
        seed: 32,
      }),
    );
    const b = h.runner(topology);
    await b.start();
    await produceLines(
      input,
      second.map((l) => l.event),
    );
    await waitForDrain(h.transport(), topology);
    await b.stop();

    const spikes2 = (await spikesOf(await h.readToEnd(spikesTopic))).slice(spikes1.length);
    const news = spikes2.filter((s) => JSON.parse(s.payload).metric === "log.template.new");
    const firstRefused = second.find((l) => l.label === "db-refused")!.event;
    expect(news).toHaveLength(1);
    expect(news[0]).toMatchObject({ source: "db-1", timestamp: firstRefused.ts });
    expect(JSON.parse(news[0]!.payload).template).toMatch(
      /^Connection to database \S+ refused after <\*> retries$/,
    );
  });
});
