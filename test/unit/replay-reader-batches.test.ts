import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RecordingReader, RecordingWriter } from "../../streams/replay/index.js";
import {
  BLOCK_HEADER_BYTES,
  ENTRY_RECORD,
  ENTRY_TOPIC,
  EntryWriter,
  RECORDING_MAGIC,
  type RecordedRecord,
} from "../../streams/replay/recording-format.js";
import { tempDir } from "./helpers/temp-dir.js";

function record(i: number): RecordedRecord {
  return {
    topic: "t",
    partition: i % 3,
    offset: Math.floor(i / 3),
    timestampMs: 1_700_000_000_000 + i,
    key: i % 11 === 0 ? null : Buffer.from(`k${i % 64}`),
    value: i % 13 === 0 ? null : Buffer.from(`value ${i}`.padEnd(40, "*")),
    headers: i % 5 === 0 ? { seq: String(i) } : {},
  };
}

/** One block holding a topic entry, `n` records, then `tail` raw bytes; a valid checksum over all of it. */
function handMadeBlock(n: number, tail: Buffer): Buffer {
  const w = new EntryWriter();
  w.u8(ENTRY_TOPIC);
  w.varint(0);
  w.string("t");
  w.varint(3);
  for (let i = 0; i < n; i++) {
    const r = record(i);
    w.u8(ENTRY_RECORD);
    w.varint(0);
    w.varint(r.partition);
    w.varint(r.offset);
    w.f64(r.timestampMs);
    w.nullable(r.key);
    w.nullable(r.value);
    const names = Object.keys(r.headers);
    w.varint(names.length);
    for (const name of names) {
      w.string(name);
      w.string(r.headers[name]!);
    }
  }
  const raw = Buffer.concat([w.bytes(), tail]);
  const compressed = deflateRawSync(raw);
  const header = Buffer.alloc(BLOCK_HEADER_BYTES);
  header.writeUInt32LE(compressed.length, 0);
  header.writeUInt32LE(raw.length, 4);
  header.writeUInt32LE(crc32(compressed), 8);
  return Buffer.concat([header, compressed]);
}

async function batchesOf(reader: RecordingReader): Promise<RecordedRecord[][]> {
  const out: RecordedRecord[][] = [];
  for await (const batch of reader.recordBatches()) out.push(batch);
  return out;
}

describe("RecordingReader.recordBatches over large blocks", () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir("spikemesh-reader-"));
  });
  afterEach(async () => {
    await remove();
  });

  it("hands a block out at most a thousand records at a time, the same records as records()", async () => {
    const path = join(dir, "big.smrec");
    const writer = new RecordingWriter(path);
    for (let i = 0; i < 4_321; i++) writer.write(record(i));
    writer.close();
    const batches = await batchesOf(new RecordingReader(path));
    expect(batches.map((b) => b.length)).toEqual([1_000, 1_000, 1_000, 1_000, 321]);
    const flat = batches.flat();
    expect(flat).toEqual([...new RecordingReader(path).records()]);
    expect(flat.map((r) => r.timestampMs)).toEqual(
      Array.from({ length: 4_321 }, (_, i) => record(i).timestampMs),
    );
    expect(flat[26]).toEqual(record(26));
  });

  it("a malformed entry after 2,500 records of one block: those records come out, then the block's offset", async () => {
    const path = join(dir, "bad-entry.smrec");
    const fd = openSync(path, "w");
    writeSync(fd, RECORDING_MAGIC);
    writeSync(fd, handMadeBlock(2_500, Buffer.from([0x07, 0x00])));
    closeSync(fd);
    const salvage = new RecordingReader(path, { salvage: true });
    const batches = await batchesOf(salvage);
    expect(batches.map((b) => b.length)).toEqual([1_000, 1_000, 500]);
    expect(batches[2]!.at(-1)).toEqual(record(2_499));
    expect(salvage.corruption?.byteOffset).toBe(RECORDING_MAGIC.length);
    expect(salvage.corruption?.validRecords).toBe(2_500);
    expect(salvage.corruption?.message).toContain("unknown entry kind 7");
    await expect(batchesOf(new RecordingReader(path))).rejects.toThrow(
      `at byte offset ${RECORDING_MAGIC.length}`,
    );
  });

  it("a block whose header gives the wrong raw length is reported at its offset, in both read paths", async () => {
    const path = join(dir, "lying-header.smrec");
    const first = handMadeBlock(10, Buffer.alloc(0));
    const second = handMadeBlock(20, Buffer.alloc(0));
    // The header is outside the block checksum: claim 7 bytes fewer (or more) than it inflates to.
    for (const delta of [-7, 7]) {
      const lying = Buffer.from(second);
      lying.writeUInt32LE(lying.readUInt32LE(4) + delta, 4);
      writeFileSync(path, Buffer.concat([RECORDING_MAGIC, first, lying]));
      const at = RECORDING_MAGIC.length + first.length;
      const salvage = new RecordingReader(path, { salvage: true });
      expect((await batchesOf(salvage)).flat()).toHaveLength(10);
      expect(salvage.corruption?.byteOffset).toBe(at);
      expect(salvage.corruption?.message).toContain("header says");
      expect(() => [...new RecordingReader(path).records()]).toThrow(`at byte offset ${at}`);
    }
  });
});
