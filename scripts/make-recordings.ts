/**
 * Writes the small recordings in test/fixtures/recordings/ that the project's tests replay:
 *   demo-2h.smrec         2 h of the demo's host telemetry (6 hosts × 4 metrics, 10 s step, seed 7)
 *   demo-2h.labels.json   its labelled incident windows
 * Produced through the embedded runtime and recorded like any user recording.
 * Run: npx tsx scripts/make-recordings.ts
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TelemetryGenerator } from "../cli/demo/telemetry-generator.js";
import { recordTypes } from "../schemas/index.js";
import { EmbeddedTransport } from "../streams/embedded/index.js";
import { RecordingWriter, recordTopics, registrySchemaLookup } from "../streams/replay/index.js";
import { RegistryCodec, RegistrySerde, SchemaRegistryServer } from "../streams/serde/index.js";

const OUT = new URL("../test/fixtures/recordings/", import.meta.url).pathname;
const TOPIC = "telemetry.raw";

const dir = await mkdtemp(join(tmpdir(), "spikemesh-fixtures-"));
const transport = new EmbeddedTransport({ dataDir: join(dir, "log") });
const registry = new SchemaRegistryServer({ dataDir: join(dir, "registry") });
try {
  const serde = new RegistrySerde({ url: await registry.start() });
  const codec = new RegistryCodec(serde);
  const generator = new TelemetryGenerator({
    startMs: Date.UTC(2026, 10, 1),
    durationMs: 2 * 3_600_000,
    seed: 7,
  });
  await transport.admin().createTopics([{ name: TOPIC, partitions: 2 }]);
  const producer = transport.producer();
  for (const batch of generator.batches(1_000)) {
    const records = [];
    for (const e of batch) {
      const value = await codec.encode(TOPIC, recordTypes.TelemetryEvent, e);
      records.push({ topic: TOPIC, key: Buffer.from(e.source), value, timestampMs: e.ts });
    }
    await producer.send(records);
  }
  await producer.close();
  const writer = new RecordingWriter(join(OUT, "demo-2h.smrec"), { level: 9 });
  const n = await recordTopics(transport, writer, {
    topics: [TOPIC],
    schemaById: registrySchemaLookup(serde.url),
  });
  writer.close();
  await writeFile(join(OUT, "demo-2h.labels.json"), `${JSON.stringify(generator.incidents, null, 2)}\n`);
  process.stdout.write(
    `wrote ${n} records to ${join(OUT, "demo-2h.smrec")} (${writer.bytesWritten} bytes)\n`,
  );
} finally {
  await transport.close();
  await registry.close();
  await rm(dir, { recursive: true, force: true });
}
