import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { promisify } from "node:util";
import { crc32, inflateRaw, inflateRawSync, type ZlibOptions } from "node:zlib";
import { SpikemeshError } from "../errors.js";
import {
  BLOCK_HEADER_BYTES,
  ENTRY_RECORD,
  ENTRY_SCHEMA,
  ENTRY_TOPIC,
  EntryReader,
  MAX_BLOCK_BYTES,
  RECORDING_MAGIC,
  type RecordedRecord,
  type RecordedSchema,
} from "./recording-format.js";

const inflateRawAsync = promisify(inflateRaw);

/**
 * Inflates into one output buffer of the size the block header gives (plus one byte, so a block
 * that inflates to more still shows as a length mismatch), instead of zlib's 16 KiB chunks that
 * are then concatenated: one pass on the thread pool per block.
 */
function inflateOptions(rawLength: number): ZlibOptions {
  return { chunkSize: Math.max(64, rawLength + 1) };
}

/** Most records `recordBatches` yields at once. */
const SUB_BATCH = 1_000;

interface CompressedBlock {
  compressed: Buffer;
  compressedLength: number;
  rawLength: number;
}

interface RawBlock {
  raw: Buffer;
  compressedLength: number;
}

/** A recording is damaged at `byteOffset`; everything before that offset is intact. */
export class RecordingCorruptError extends SpikemeshError {
  override readonly name = "RecordingCorruptError";
  constructor(
    readonly file: string,
    readonly byteOffset: number,
    reason: string,
    /** Records readable before the damage. */
    readonly validRecords?: number,
  ) {
    super("LOG_CORRUPT", `${file}: ${reason} at byte offset ${byteOffset}`, { context: { file } });
  }
}

export interface ReadOptions {
  /** Stop quietly at the first damaged block (see `reader.corruption`) instead of throwing. */
  salvage?: boolean;
}

/**
 * Reads a recording block by block. `records()` yields records in file order; schemas are
 * collected in `schemas` as they appear (always before the records that need them).
 */
export class RecordingReader {
  readonly schemas = new Map<number, RecordedSchema>();
  /** Set when `salvage` stopped at a damaged block. */
  corruption: RecordingCorruptError | undefined;
  /** Bytes of whole, valid blocks read so far. */
  validBytes = 0;
  readonly fileBytes: number;
  /** Partitions each recorded topic had (from its topic entry; absent when unknown). */
  readonly topicPartitions = new Map<string, number>();
  private readonly topics: string[] = [];

  constructor(
    readonly path: string,
    private readonly options: ReadOptions = {},
  ) {
    const fd = openSync(path, "r");
    try {
      this.fileBytes = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  }

  *records(): Generator<RecordedRecord> {
    let count = 0;
    for (const { raw, offset } of this.blocks()) {
      const r = new EntryReader(raw);
      try {
        while (!r.done) {
          const rec = this.entry(r);
          if (rec) {
            count++;
            yield rec;
          }
        }
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
        if (this.stopAt(this.malformed(offset, err, count))) return;
      }
    }
  }

  /**
   * The same records as `records()`, up to a thousand at a time, with the next block read and decompressed
   * on libuv's thread pool while the caller works on the current one: a replay at full speed
   * overlaps decompression with its appends. Damage is handled as in `records()`: the records
   * before it come out, then it throws (or, with `salvage`, stops and sets `corruption`).
   */
  async *recordBatches(): AsyncGenerator<RecordedRecord[]> {
    let count = 0;
    const fd = openSync(this.path, "r");
    try {
      let offset = this.checkMagic(fd);
      if (offset === undefined) return;
      const header = Buffer.alloc(BLOCK_HEADER_BYTES);
      const next = (at: number): Promise<RawBlock | RecordingCorruptError> | undefined => {
        if (at >= this.fileBytes) return undefined;
        const block = this.readCompressed(fd, header, at);
        if (block instanceof RecordingCorruptError) return Promise.resolve(block);
        return inflateRawAsync(block.compressed, inflateOptions(block.rawLength)).then(
          (raw) => this.checkInflated(at, block, raw),
          (err: Error) => this.corrupt(at, `block does not decompress: ${err.message}`),
        );
      };
      let pending = next(offset);
      while (pending) {
        const block = await pending;
        if (block instanceof RecordingCorruptError) {
          this.stopAt(block);
          return;
        }
        const at = offset;
        offset += BLOCK_HEADER_BYTES + block.compressedLength;
        this.validBytes = offset;
        pending = next(offset);
        // Decoded and handed out SUB_BATCH records at a time, not the whole block at once: the
        // records of a 1 MiB block would otherwise all be alive across the caller's appends, and
        // the garbage collector copied and promoted them (GC self time in a replay profile: 20%
        // with whole blocks, 6% with this).
        const r = new EntryReader(block.raw);
        let damage: RecordingCorruptError | undefined;
        while (!r.done && damage === undefined) {
          const batch: RecordedRecord[] = [];
          try {
            while (!r.done && batch.length < SUB_BATCH) {
              const rec = this.entry(r);
              if (rec) batch.push(rec);
            }
          } catch (err) {
            if (!(err instanceof RangeError)) throw err;
            damage = this.malformed(at, err, count + batch.length);
          }
          count += batch.length;
          if (batch.length > 0) yield batch;
        }
        if (damage) {
          // The prefetched block is never used; let its inflate settle unobserved.
          pending?.catch(() => {});
          this.stopAt(damage);
          return;
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Throws `damage`, or with `salvage` keeps it in `corruption` and says to stop (true). */
  private stopAt(damage: RecordingCorruptError): true {
    if (!this.options.salvage) throw damage;
    this.corruption = damage;
    return true;
  }

  private malformed(offset: number, err: RangeError, count: number): RecordingCorruptError {
    return new RecordingCorruptError(this.path, offset, `malformed entry in block (${err.message})`, count);
  }

  private corrupt(offset: number, reason: string): RecordingCorruptError {
    return new RecordingCorruptError(this.path, offset, reason);
  }

  /** Offset of the first block, or undefined (after `stopAt`) when the magic bytes are wrong. */
  private checkMagic(fd: number): number | undefined {
    const magic = Buffer.alloc(RECORDING_MAGIC.length);
    const got = readSync(fd, magic, 0, magic.length, 0);
    if (got < magic.length || !magic.equals(RECORDING_MAGIC)) {
      this.stopAt(this.corrupt(0, "not a spikemesh recording (bad magic bytes)"));
      return undefined;
    }
    this.validBytes = magic.length;
    return magic.length;
  }

  /** The file's blocks, decompressed, each with its byte offset. */
  private *blocks(): Generator<{ raw: Buffer; offset: number }> {
    const fd = openSync(this.path, "r");
    try {
      let offset = this.checkMagic(fd);
      if (offset === undefined) return;
      const header = Buffer.alloc(BLOCK_HEADER_BYTES);
      while (offset < this.fileBytes) {
        const block = this.readBlock(fd, header, offset);
        if (block instanceof RecordingCorruptError) {
          this.stopAt(block);
          return;
        }
        const at = offset;
        offset += BLOCK_HEADER_BYTES + block.compressedLength;
        this.validBytes = offset;
        yield { raw: block.raw, offset: at };
      }
    } finally {
      closeSync(fd);
    }
  }

  private readBlock(
    fd: number,
    header: Buffer,
    offset: number,
  ): { raw: Buffer; compressedLength: number } | RecordingCorruptError {
    const block = this.readCompressed(fd, header, offset);
    if (block instanceof RecordingCorruptError) return block;
    let raw: Buffer;
    try {
      raw = inflateRawSync(block.compressed, inflateOptions(block.rawLength));
    } catch (err) {
      return this.corrupt(offset, `block does not decompress: ${(err as Error).message}`);
    }
    return this.checkInflated(offset, block, raw);
  }

  /** A block's header and compressed bytes, with lengths and checksum checked. */
  private readCompressed(
    fd: number,
    header: Buffer,
    offset: number,
  ): CompressedBlock | RecordingCorruptError {
    if (readSync(fd, header, 0, BLOCK_HEADER_BYTES, offset) < BLOCK_HEADER_BYTES) {
      return this.corrupt(offset, "truncated block header (the recording was cut short)");
    }
    const compressedLength = header.readUInt32LE(0);
    const rawLength = header.readUInt32LE(4);
    if (compressedLength > MAX_BLOCK_BYTES || rawLength > MAX_BLOCK_BYTES) {
      return this.corrupt(offset, `implausible block lengths ${compressedLength}/${rawLength}`);
    }
    const compressed = Buffer.allocUnsafe(compressedLength);
    if (readSync(fd, compressed, 0, compressedLength, offset + BLOCK_HEADER_BYTES) < compressedLength) {
      return this.corrupt(offset, "truncated block (the recording was cut short)");
    }
    if (crc32(compressed) !== header.readUInt32LE(8)) return this.corrupt(offset, "block checksum mismatch");
    return { compressed, compressedLength, rawLength };
  }

  private checkInflated(
    offset: number,
    block: CompressedBlock,
    raw: Buffer,
  ): RawBlock | RecordingCorruptError {
    if (raw.length !== block.rawLength)
      return this.corrupt(
        offset,
        `block decompresses to ${raw.length} bytes, header says ${block.rawLength}`,
      );
    return { raw, compressedLength: block.compressedLength };
  }

  private entry(r: EntryReader): RecordedRecord | undefined {
    const kind = r.u8();
    if (kind === ENTRY_TOPIC) {
      const index = r.varint();
      const name = r.string();
      this.topics[index] = name;
      const partitions = r.varint();
      if (partitions > 0) this.topicPartitions.set(name, partitions);
      return undefined;
    }
    if (kind === ENTRY_SCHEMA) {
      const id = r.varint();
      const subject = r.string();
      this.schemas.set(id, { id, subject, schema: r.string() });
      return undefined;
    }
    if (kind !== ENTRY_RECORD) throw new RangeError(`unknown entry kind ${kind}`);
    const topicIndex = r.varint();
    const topic = this.topics[topicIndex];
    if (topic === undefined) throw new RangeError(`record names topic #${topicIndex} before its entry`);
    const partition = r.varint();
    const offset = r.varint();
    const timestampMs = r.f64();
    const key = r.nullable();
    const value = r.nullable();
    const headers: Record<string, string> = {};
    for (let n = r.varint(); n > 0; n--) headers[r.string()] = r.string();
    return { topic, partition, offset, timestampMs, key, value, headers };
  }
}

/**
 * Checks every block of a recording (lengths, checksums, decompression, entries) without keeping
 * anything; returns the number of records and the first damage, if any.
 */
export function verifyRecording(path: string): { records: number; corruption?: RecordingCorruptError } {
  const reader = new RecordingReader(path, { salvage: true });
  let records = 0;
  for (const _ of reader.records()) records++;
  return reader.corruption ? { records, corruption: reader.corruption } : { records };
}

/**
 * Checks block framing and checksums only (no decompression): fast, and enough to find a cut or
 * damaged file before replaying it. Returns the byte offset of the first bad block, if any.
 */
export function scanRecording(path: string): RecordingCorruptError | undefined {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const magic = Buffer.alloc(RECORDING_MAGIC.length);
    if (readSync(fd, magic, 0, magic.length, 0) < magic.length || !magic.equals(RECORDING_MAGIC)) {
      return new RecordingCorruptError(path, 0, "not a spikemesh recording (bad magic bytes)");
    }
    const header = Buffer.alloc(BLOCK_HEADER_BYTES);
    let body = Buffer.allocUnsafe(1024 * 1024);
    for (let offset = magic.length; offset < size; ) {
      if (readSync(fd, header, 0, BLOCK_HEADER_BYTES, offset) < BLOCK_HEADER_BYTES) {
        return new RecordingCorruptError(
          path,
          offset,
          "truncated block header (the recording was cut short)",
        );
      }
      const length = header.readUInt32LE(0);
      if (length > MAX_BLOCK_BYTES || header.readUInt32LE(4) > MAX_BLOCK_BYTES) {
        return new RecordingCorruptError(path, offset, "implausible block lengths");
      }
      if (body.length < length) body = Buffer.allocUnsafe(length);
      if (readSync(fd, body, 0, length, offset + BLOCK_HEADER_BYTES) < length) {
        return new RecordingCorruptError(path, offset, "truncated block (the recording was cut short)");
      }
      if (crc32(body.subarray(0, length)) !== header.readUInt32LE(8)) {
        return new RecordingCorruptError(path, offset, "block checksum mismatch");
      }
      offset += BLOCK_HEADER_BYTES + length;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
