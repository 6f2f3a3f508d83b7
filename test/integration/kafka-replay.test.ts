import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { recordTypes } from "../../schemas/index.js";
import { KafkaTransport } from "../../streams/kafka/index.js";
import {
  RecordingReader,
  RecordingWriter,
  recordTopics,
  registrySchemaLookup,
  replayRecording,
} from "../../streams/replay/index.js";
import { RegistryCodec, RegistrySerde, SchemaRegistryServer } from "../../streams/serde/index.js";
import { tempDir } from "../unit/helpers/temp-dir.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/recordings/demo-2h.smrec", import.meta.url));

describe("record and replay on Kafka", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let registry: SchemaRegistryServer;
  let transport: KafkaTransport;
  const topic = `replay-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("spikemesh-kafka-replay-"));
    registry = new SchemaRegistryServer({ dataDir: dir });
    await registry.start();
    transport = new KafkaTransport({ brokers: [inject("kafkaBrokers")], clientId: "replay-test" });
  });
  afterAll(async () => {
    await transport.admin().deleteTopics([topic]);
    await transport.close();
    await registry.close();
    await remove();
  });

  it("replays a recording into Kafka and records it back with the same records per partition", async () => {
    const serde = new RegistrySerde({ url: registry.url });
    const result = await replayRecording(FIXTURE, transport, { topicMap: { "telemetry.raw": topic }, serde });
    expect(result.sent).toBe(17_280);

    const back = `${dir}/back.smrec`;
    const writer = new RecordingWriter(back);
    expect(
      await recordTopics(transport, writer, {
        topics: [topic],
        schemaById: registrySchemaLookup(registry.url),
      }),
    ).toBe(17_280);
    writer.close();

    const key = (r: { partition: number; offset: number }) => `${r.partition}/${r.offset}`;
    const original = new Map([...new RecordingReader(FIXTURE).records()].map((r) => [key(r), r]));
    const codec = new RegistryCodec(serde);
    let checked = 0;
    for (const r of new RecordingReader(back).records()) {
      const o = original.get(key(r));
      expect(o, key(r)).toBeDefined();
      expect(r.key).toEqual(o!.key);
      expect(r.timestampMs).toBe(o!.timestampMs);
      if (checked++ % 1_000 === 0) {
        expect(await codec.decode(topic, recordTypes.TelemetryEvent, r.value!)).toMatchObject({
          source: o!.key!.toString(),
        });
      }
    }
    expect(checked).toBe(17_280);
  });
});
