import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { recordTypes, type TelemetryEvent } from "../../schemas/index.js";
import { EmbeddedTransport } from "../../streams/embedded/index.js";
import { silentLogger } from "../../streams/logger.js";
import {
  RecordingCorruptError,
  RecordingReader,
  RecordingWriter,
  recordTopics,
  registrySchemaLookup,
  replayRecording,
  verifyRecording,
} from "../../streams/replay/index.js";
import { RegistryCodec, RegistrySerde, SchemaRegistryServer } from "../../streams/serde/index.js";
import type { IncomingRecord } from "../../streams/transport/transport.js";
import { tempDir } from "./helpers/temp-dir.js";

interface Env {
  transport: EmbeddedTransport;
  registry: SchemaRegistryServer;
  serde: RegistrySerde;
  codec: RegistryCodec;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function env(): Promise<Env & { dir: string }> {
  const { dir, remove } = await tempDir("spikemesh-replay-");
  const transport = new EmbeddedTransport({ dataDir: join(dir, "log"), logger: silentLogger() });
  const registry = new SchemaRegistryServer({ dataDir: join(dir, "registry") });
  const serde = new RegistrySerde({ url: await registry.start() });
  closers.push(
    remove,
    () => registry.close(),
    () => transport.close(),
  );
  return { dir, transport, registry, serde, codec: new RegistryCodec(serde) };
}

function event(i: number): TelemetryEvent {
  return {
    ts: 1_700_000_000_000 + i * 1_000,
    source: `host-${i % 5}`,
    metric: "cpu.util",
    value: i / 7,
    tags: {},
  };
}

async function produceEvents(e: Env, topic: string, n: number): Promise<void> {
  await e.transport.admin().createTopics([{ name: topic, partitions: 3 }]);
  const producer = e.transport.producer();
  const records = [];
  for (let i = 0; i < n; i++) {
    const value = await e.codec.encode(topic, recordTypes.TelemetryEvent, event(i));
    records.push({
      topic,
      key: i % 10 === 9 ? null : Buffer.from(event(i).source),
      value: i % 50 === 49 ? null : value,
      headers: { seq: String(i) },
      timestampMs: event(i).ts,
    });
  }
  await producer.send(records);
  await producer.close();
}

async function readAll(transport: EmbeddedTransport, topic: string): Promise<IncomingRecord[]> {
  const consumer = transport.consumer({ groupId: `read-${Math.random()}` });
  await consumer.subscribe([topic]);
  const out: IncomingRecord[] = [];
  for (
    let got = await consumer.poll({ maxWaitMs: 50 });
    got.length > 0;
    got = await consumer.poll({ maxWaitMs: 50 })
  ) {
    out.push(...got);
  }
  await consumer.close();
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

async function recordFrom(e: Env & { dir: string }, topics: string[], name = "rec.smrec"): Promise<string> {
  const path = join(e.dir, name);
  const writer = new RecordingWriter(path, { blockBytes: 4_096 });
  await recordTopics(e.transport, writer, { topics, schemaById: registrySchemaLookup(e.serde.url) });
  writer.close();
  return path;
}

describe("record and replay", () => {
  it("keeps key, value bytes, headers, timestamp, partition and offset, and embeds the schemas", async () => {
    const source = await env();
    await produceEvents(source, "telemetry.raw", 400);
    const file = await recordFrom(source, ["telemetry.raw"]);

    const reader = new RecordingReader(file);
    const recorded = [...reader.records()].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    const original = await readAll(source.transport, "telemetry.raw");
    expect(recorded).toHaveLength(400);
    expect(recorded.map((r) => [r.partition, r.offset, r.timestampMs, r.key, r.value, r.headers])).toEqual(
      original.map((r) => [r.partition, r.offset, r.timestampMs, r.key, r.value, r.headers]),
    );
    expect([...reader.schemas.values()].map((s) => JSON.parse(s.schema).name)).toEqual(["TelemetryEvent"]);
  });

  it("replays into another runtime whose registry gives other ids, rewriting them, order kept per partition", async () => {
    const source = await env();
    await produceEvents(source, "telemetry.raw", 300);
    const file = await recordFrom(source, ["telemetry.raw"]);

    const target = await env();
    // Take ids 1 and 2 in the target registry so the recorded id cannot be reused as is.
    await target.serde.register("other-value", recordTypes.SpikeRecord);
    await target.serde.register("another-value", recordTypes.Feedback);
    const result = await replayRecording(file, target.transport, {
      topicMap: { "telemetry.raw": "replayed" },
      serde: target.serde,
    });
    expect(result).toEqual({ sent: 300, byTopic: { replayed: 300 } });

    const replayed = await readAll(target.transport, "replayed");
    const original = await readAll(source.transport, "telemetry.raw");
    expect(replayed.map((r) => [r.partition, r.offset, r.key, r.headers, r.timestampMs])).toEqual(
      original.map((r) => [r.partition, r.offset, r.key, r.headers, r.timestampMs]),
    );
    const recordedIds = [...new RecordingReader(file).schemas.keys()];
    for (const _ of new RecordingReader(file).records());
    const replayedIds = new Set(replayed.filter((r) => r.value).map((r) => r.value!.readInt32BE(1)));
    expect(replayedIds.size).toBe(1);
    expect(recordedIds).not.toContain([...replayedIds][0]);
    for (const [i, r] of replayed.entries()) {
      const o = original[i]!;
      if (o.value === null) expect(r.value).toBeNull();
      else {
        expect(await target.codec.decode("replayed", recordTypes.TelemetryEvent, r.value!)).toEqual(
          await source.codec.decode("telemetry.raw", recordTypes.TelemetryEvent, o.value),
        );
      }
    }
  });

  it("shifts timestamps so the first record is now, keeping the gaps", async () => {
    const source = await env();
    await produceEvents(source, "t", 20);
    const file = await recordFrom(source, ["t"]);
    const target = await env();
    const now = 1_800_000_000_000;
    await replayRecording(file, target.transport, { timestamps: "shifted", nowMs: () => now });
    const recorded = [...new RecordingReader(file).records()];
    const first = recorded[0]!.timestampMs;
    const byHeader = new Map(
      (await readAll(target.transport, "t")).map((r) => [r.headers.seq, r.timestampMs]),
    );
    for (const r of recorded) expect(byHeader.get(r.headers.seq)).toBe(now + (r.timestampMs - first));
  });

  it("records only the records between --from and --until (offsets or times)", async () => {
    const source = await env();
    await produceEvents(source, "t", 300);
    const byOffset = join(source.dir, "offsets.smrec");
    let writer = new RecordingWriter(byOffset);
    await recordTopics(source.transport, writer, {
      topics: ["t"],
      from: { offset: 10 },
      until: { offset: 19 },
    });
    writer.close();
    const kept = [...new RecordingReader(byOffset).records()];
    const partitions = new Set((await readAll(source.transport, "t")).map((r) => r.partition)).size;
    expect(kept).toHaveLength(10 * partitions);
    expect(kept.every((r) => r.offset >= 10 && r.offset <= 19)).toBe(true);

    const from = event(100).ts;
    const until = event(149).ts;
    const byTime = join(source.dir, "times.smrec");
    writer = new RecordingWriter(byTime);
    await recordTopics(source.transport, writer, {
      topics: ["t"],
      from: { timeMs: from },
      until: { timeMs: until },
    });
    writer.close();
    const seqs = [...new RecordingReader(byTime).records()]
      .map((r) => Number(r.headers.seq))
      .sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
  });

  it("paces a replay by record timestamps at the given speed", async () => {
    const source = await env();
    await produceEvents(source, "t", 20); // one record per second of event time: 19 s from first to last
    const file = await recordFrom(source, ["t"]);
    const target = await env();
    let now = 1_000;
    const slept: number[] = [];
    const result = await replayRecording(file, target.transport, {
      speed: 10,
      nowMs: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    expect(result.sent).toBe(20);
    // Records leave in file order; at 10x the replay takes a tenth of the recorded span.
    const recorded = [...new RecordingReader(file).records()].map((r) => r.timestampMs);
    const span = Math.max(...recorded) - recorded[0]!;
    expect(now - 1_000).toBeCloseTo(Math.max(0, span) / 10, 6);
    expect(slept.every((ms) => ms > 0)).toBe(true);
  });

  it("names the byte offset of a truncated or corrupted block, and salvage replays the prefix", async () => {
    const source = await env();
    await produceEvents(source, "t", 2_000);
    const file = await recordFrom(source, ["t"]);
    const whole = readFileSync(file);
    const blocks = blockOffsets(whole);
    expect(blocks.length).toBeGreaterThan(3);

    // Cut inside the last block.
    const cut = join(source.dir, "cut.smrec");
    writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const last = blocks.at(-1)!;
    const truncated = verifyRecording(cut);
    expect(truncated.corruption).toBeInstanceOf(RecordingCorruptError);
    expect(truncated.corruption!.byteOffset).toBe(last);
    expect(truncated.corruption!.message).toContain(`at byte offset ${last}`);
    expect(() => [...new RecordingReader(cut).records()]).toThrow(`at byte offset ${last}`);

    // Flip a byte inside the second block.
    const flipped = join(source.dir, "flipped.smrec");
    const bad = Buffer.from(whole);
    bad[blocks[1]! + 20]! ^= 0xff;
    writeFileSync(flipped, bad);
    const corrupt = verifyRecording(flipped);
    expect(corrupt.corruption!.byteOffset).toBe(blocks[1]);
    expect(corrupt.corruption!.message).toContain("checksum");

    const target = await env();
    await expect(replayRecording(flipped, target.transport)).rejects.toThrow(`at byte offset ${blocks[1]}`);
    expect(await target.transport.admin().listTopics()).toEqual([]);
    const salvaged = await replayRecording(flipped, target.transport, { salvage: true });
    expect(salvaged.stoppedAtByte).toBe(blocks[1]);
    expect(salvaged.sent).toBe(corrupt.records);
    expect(salvaged.sent).toBeGreaterThan(0);
    expect(salvaged.sent).toBeLessThan(2_000);

    // Block-at-a-time reading (what replay uses) gives the same records and the same damage.
    const batched: unknown[] = [];
    const salvageReader = new RecordingReader(flipped, { salvage: true });
    for await (const batch of salvageReader.recordBatches()) batched.push(...batch);
    expect(batched).toEqual([...new RecordingReader(flipped, { salvage: true }).records()]);
    expect(salvageReader.corruption?.byteOffset).toBe(blocks[1]);
    const strict = async () => {
      for await (const _ of new RecordingReader(cut).recordBatches());
    };
    await expect(strict()).rejects.toThrow(`at byte offset ${last}`);
  });

  it("rejects a file that is not a recording", async () => {
    const { dir } = await env();
    const path = join(dir, "x.smrec");
    writeFileSync(path, "hello, this is not a recording");
    expect(verifyRecording(path).corruption?.message).toContain("bad magic bytes");
    expect(() => [...new RecordingReader(path).records()]).toThrow("at byte offset 0");
    truncateSync(path, 0);
    expect(verifyRecording(path).corruption?.byteOffset).toBe(0);
  });
});

/** Byte offsets of each block: walk the headers (u32 compressed length first). */
function blockOffsets(file: Buffer): number[] {
  const out: number[] = [];
  for (let p = 8; p < file.length; p += 12 + file.readUInt32LE(p)) out.push(p);
  return out;
}
