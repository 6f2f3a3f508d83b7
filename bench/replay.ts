import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import avro from "avsc";
import { avroSchemas } from "../schemas/index.js";
import { EmbeddedTransport } from "../streams/embedded/index.js";
import { RecordingReader, RecordingWriter, replayRecording } from "../streams/replay/index.js";
import { RegistrySerde, SchemaRegistryServer } from "../streams/serde/index.js";
import type { Suite, TrialResult } from "./measure.js";

export const REPLAY_CASE = "replay max speed";

/**
 * Replay at max speed into the embedded runtime (schemas re-registered, partitions kept) against a
 * raw read + decode of the same recording file, in the same process. Goal: ≥ 500k records/s.
 */
export function replaySuite(baseDir: string, records: number): Suite {
  const dir = mkdtempSync(join(baseDir, "replay-"));
  const file = join(dir, "bench.smrec");
  const bytes = writeRecording(file, records);
  let trial = 0;
  return {
    cases: [REPLAY_CASE],
    spikemesh: {
      label: "replayRecording → EmbeddedTransport (with registry)",
      trial: async (): Promise<TrialResult> => {
        const runDir = join(dir, `run-${trial++}`);
        const transport = new EmbeddedTransport({ dataDir: join(runDir, "log") });
        const registry = new SchemaRegistryServer({ dataDir: join(runDir, "registry") });
        const serde = new RegistrySerde({ url: await registry.start() });
        try {
          const started = performance.now();
          const result = await replayRecording(file, transport, { serde });
          const seconds = (performance.now() - started) / 1000;
          if (result.sent !== records) throw new Error(`replayed ${result.sent} of ${records}`);
          return { [REPLAY_CASE]: { records, bytes, seconds } };
        } finally {
          await transport.close();
          await registry.close();
          rmSync(runDir, { recursive: true, force: true });
        }
      },
    },
    baseline: {
      label: "RecordingReader: read + inflate + decode entries only",
      trial: async (): Promise<TrialResult> => {
        const started = performance.now();
        let n = 0;
        for (const _ of new RecordingReader(file).records()) n++;
        const seconds = (performance.now() - started) / 1000;
        if (n !== records) throw new Error(`read ${n} of ${records}`);
        return { [REPLAY_CASE]: { records, bytes, seconds } };
      },
    },
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** ~100-byte TelemetryEvents in the Confluent wire format (schema id 1), keyed by 64 sources. */
function writeRecording(file: string, records: number): number {
  const type = avro.Type.forSchema(avroSchemas.TelemetryEvent as unknown as avro.Schema);
  const writer = new RecordingWriter(file);
  writer.topicPartitions.set("telemetry.raw", 4);
  writer.addSchema({
    id: 1,
    subject: "telemetry.raw-value",
    schema: JSON.stringify(avroSchemas.TelemetryEvent),
  });
  const header = Buffer.from([0, 0, 0, 0, 1]);
  let bytes = 0;
  const offsets = [0, 0, 0, 0];
  for (let i = 0; i < records; i++) {
    const source = `host-${String(i % 64).padStart(4, "0")}`;
    const body = type.toBuffer({
      ts: 1_790_000_000_000 + i * 100,
      source,
      metric: "disk.write_bytes",
      value: 20e6 + (i % 1000) * 1_000,
      tags: { env: "bench", region: "eu-west-1" },
    });
    const value = Buffer.concat([header, body]);
    const partition = i % 4;
    writer.write({
      topic: "telemetry.raw",
      partition,
      offset: offsets[partition]!++,
      timestampMs: 1_790_000_000_000 + i * 100,
      key: Buffer.from(source),
      value,
      headers: {},
    });
    bytes += value.length + source.length;
  }
  writer.close();
  return bytes;
}
