import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { crc32Range } from "../../streams/embedded/crc32.js";
import { EmbeddedTransport } from "../../streams/embedded/index.js";
import {
  decodeFrame,
  type EncodableRecord,
  encodeBatch,
  FRAME_HEADER_BYTES,
  frameCrcMatches,
} from "../../streams/embedded/record-codec.js";
import type { OutgoingRecord } from "../../streams/transport/transport.js";
import { captureLogger, WARN } from "./helpers/capture-logger.js";
import { tempDir } from "./helpers/temp-dir.js";

/** Deterministic pseudo-random bytes (xorshift), so a failure reproduces. */
function bytes(n: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function sample(): EncodableRecord[] {
  return [
    { key: Buffer.from("host-0001"), value: bytes(84, 1), headers: {}, timestampMs: 1_790_000_000_000 },
    { key: null, value: bytes(300, 2), headers: { trace: "t-1", ü: "wert" }, timestampMs: 5 },
    { key: bytes(40, 3), value: null, timestampMs: -1.5 },
    { key: Buffer.alloc(0), value: Buffer.alloc(0), headers: { a: "" }, timestampMs: 0 },
    { key: bytes(31, 4), value: bytes(32, 5), timestampMs: 7 },
  ];
}

describe("embedded record codec", () => {
  it("crc32Range equals zlib.crc32 for every length up to 600 bytes and at any start", () => {
    // A view at an odd byte offset of its memory, read with and without a caller's DataView.
    const data = Buffer.concat([Buffer.alloc(3), bytes(2_048, 42)]).subarray(3);
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    const wrong: string[] = [];
    for (let length = 0; length <= 600; length++) {
      for (const start of [0, 1, 3, 7, 1_000]) {
        const want = crc32(data.subarray(start, start + length));
        if (crc32Range(data, start, start + length) !== want) wrong.push(`${start}+${length}`);
        if (crc32Range(data, start, start + length, view) !== want) wrong.push(`view ${start}+${length}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("writes the same frames as before: each CRC is zlib.crc32 of its body, and frames decode back", () => {
    const records = sample();
    const batch = encodeBatch(records, 100);
    expect(batch.count).toBe(records.length);
    expect(batch.maxTimestampMs).toBe(1_790_000_000_000);
    for (let i = 0; i < records.length; i++) {
      const at = batch.recordStarts[i]!;
      const bodyLength = batch.buffer.readUInt32LE(at);
      const body = batch.buffer.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + bodyLength);
      expect(batch.buffer.readUInt32LE(at + 4)).toBe(crc32(body));
      expect(frameCrcMatches(batch.buffer, at, bodyLength)).toBe(true);
      const got = decodeFrame(batch.buffer, at, "t", 0);
      const want = records[i]!;
      expect(got.offset).toBe(100 + i);
      expect(got.timestampMs).toBe(want.timestampMs);
      expect(got.key).toEqual(want.key);
      expect(got.value).toEqual(want.value);
      expect(got.headers).toEqual(want.headers ?? {});
    }
    const end =
      batch.recordStarts.at(-1)! + FRAME_HEADER_BYTES + batch.buffer.readUInt32LE(batch.recordStarts.at(-1)!);
    expect(end).toBe(batch.buffer.length);
  });

  it("detects any single flipped byte inside any record of a batch", () => {
    const batch = encodeBatch(sample(), 0);
    const missed: string[] = [];
    for (let i = 0; i < batch.count; i++) {
      const at = batch.recordStarts[i]!;
      const bodyLength = batch.buffer.readUInt32LE(at);
      for (let b = at + FRAME_HEADER_BYTES; b < at + FRAME_HEADER_BYTES + bodyLength; b++) {
        const copy = Buffer.from(batch.buffer);
        copy[b]! ^= 0x10;
        if (frameCrcMatches(copy, at, bodyLength)) missed.push(`record ${i} byte ${b}`);
      }
    }
    expect(missed).toEqual([]);
  });

  it("a batch encoded into the shared scratch buffer equals a freshly allocated one", () => {
    const fresh = encodeBatch(sample(), 9);
    const reused = encodeBatch(sample(), 9, true);
    expect(Buffer.from(reused.buffer)).toEqual(fresh.buffer);
    expect([...reused.recordStarts]).toEqual([...fresh.recordStarts]);
  });
});

describe("embedded segment corruption", () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir("spikemesh-codec-"));
  });
  afterEach(async () => {
    await remove();
  });

  it("a byte flipped in a record in the middle of a batch drops that batch and what follows, with a warning", async () => {
    let t = new EmbeddedTransport({ dataDir: dir });
    await t.admin().createTopics([{ name: "e", partitions: 1 }]);
    const producer = t.producer();
    const send = (from: number): OutgoingRecord[] =>
      Array.from({ length: 100 }, (_, i) => ({
        topic: "e",
        key: Buffer.from(`k${(from + i) % 7}`),
        value: bytes(90, from + i),
        timestampMs: from + i,
      }));
    for (let b = 0; b < 3; b++) await producer.send(send(b * 100));
    await t.close();

    const partitionDir = join(dir, "topics", "e", "0");
    const file = join(partitionDir, readdirSync(partitionDir).find((n) => n.endsWith(".log"))!);
    const data = readFileSync(file);
    // Walk to record 150 (the middle of the second batch) and flip a byte of its value.
    let at = 0;
    for (let i = 0; i < 150; i++) at += FRAME_HEADER_BYTES + data.readUInt32LE(at);
    data[at + FRAME_HEADER_BYTES + 60]! ^= 0x01;
    writeFileSync(file, data);

    const { logger, lines } = captureLogger();
    t = new EmbeddedTransport({ dataDir: dir, logger });
    const warning = lines.find((l) => l.level === WARN && /torn tail/.test(l.msg));
    expect(warning?.reason).toBe("CRC mismatch");
    const [d] = await t.admin().describeTopics(["e"]);
    expect(d!.partitions[0]!.highOffset).toBe(100);
    const c = t.consumer({ groupId: "g" });
    await c.subscribe(["e"]);
    const got = await c.poll({ maxRecords: 1_000, maxWaitMs: 200 });
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(got[42]!.value).toEqual(bytes(90, 42));
    await c.close();
    await t.close();
  });
});
