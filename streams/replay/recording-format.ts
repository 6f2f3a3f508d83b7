/**
 * The recording file format (`.smrec`): self-contained, compressed, append-only, and readable up
 * to the first damaged byte.
 *
 *   file   = magic "SPKMREC1" (8 bytes) | block*
 *   block  = u32 compressedLength | u32 rawLength | u32 crc32(compressed) | compressed (raw deflate)
 *   raw    = entry*
 *   entry  = u8 kind | fields (lengths and integers as unsigned LEB128 varints)
 *     kind 1 topic:  varint index | bytes name | varint partitions (on the recorded topic; 0 unknown)
 *     kind 2 schema: varint registryId | bytes subject | bytes schemaJson
 *     kind 3 record: varint topicIndex | varint partition | varint offset | f64 timestampMs
 *                    | nullable key | nullable value | varint headerCount | (bytes k | bytes v)*
 *   bytes  = varint length | length bytes; nullable = varint (length + 1), 0 meaning null
 *
 * All integers are little-endian. A topic or schema entry always precedes the records that use it,
 * so any prefix of whole blocks is a valid recording. Each block is written whole, so stopping
 * between blocks (Ctrl-C) leaves a valid file; a torn or corrupt block is reported with its byte
 * offset and everything before it stays readable.
 */
export const RECORDING_MAGIC = Buffer.from("SPKMREC1", "latin1");
export const BLOCK_HEADER_BYTES = 12;
/** Largest raw block accepted when reading (the writer flushes at 1 MiB). */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

export const ENTRY_TOPIC = 1;
export const ENTRY_SCHEMA = 2;
export const ENTRY_RECORD = 3;

/** One recorded record, as it was on its topic. */
export interface RecordedRecord {
  topic: string;
  partition: number;
  offset: number;
  timestampMs: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** A registry schema a recorded value was written with. */
export interface RecordedSchema {
  /** The id in the registry the recording was made against (the id in the values' wire format). */
  id: number;
  subject: string;
  /** The Avro schema as JSON text. */
  schema: string;
}

/** A growing byte buffer with the writers the format needs. */
export class EntryWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far (a view; copy before the next write if kept). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new RangeError(`varint: not a non-negative safe integer: ${v}`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  bytesField(b: Buffer): void {
    this.varint(b.length);
    this.raw(b);
  }

  string(s: string): void {
    this.bytesField(Buffer.from(s, "utf8"));
  }

  nullable(b: Buffer | null): void {
    if (b === null) this.varint(0);
    else {
      this.varint(b.length + 1);
      this.raw(b);
    }
  }

  private raw(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

/** Reads entries of one decompressed block; throws RangeError past its end. */
export class EntryReader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new RangeError("entry runs past the end of its block");
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
    throw new RangeError("varint longer than 8 bytes");
  }

  f64(): number {
    if (this.pos + 8 > this.buf.length) throw new RangeError("entry runs past the end of its block");
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  bytesField(): Buffer {
    return this.take(this.varint());
  }

  string(): string {
    return this.bytesField().toString("utf8");
  }

  nullable(): Buffer | null {
    const n = this.varint();
    return n === 0 ? null : this.take(n - 1);
  }

  private take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new RangeError("entry runs past the end of its block");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}
