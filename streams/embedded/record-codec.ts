import { SpikemeshError } from "../errors.js";
import type { Headers, IncomingRecord } from "../transport/transport.js";
import { crc32Range } from "./crc32.js";

/**
 * Record framing of the embedded log's segment files. Every record is one frame, little-endian:
 *
 * ```
 * u32 bodyLength | u32 crc32(body) | body
 * body = u8 attributes | f64 offset | f64 timestampMs
 *      | i32 keyLength (-1 = null) | key | i32 valueLength (-1 = null) | value
 *      | u16 headerCount | headerCount × (u16 nameLength | name | u32 valueLength | value)  (UTF-8)
 * ```
 *
 * Attribute bit 0 marks the last record of a produced batch: recovery drops a tail whose batch
 * has no such record, so a batch is all-or-nothing even though each record has its own CRC.
 */

/** Bytes before the body: length and CRC. */
export const FRAME_HEADER_BYTES = 8;
/** Smallest possible body: attributes, offset, timestamp, two lengths, header count. */
export const MIN_BODY_BYTES = 27;
/** Attribute bit: this record closes its batch. */
export const ATTR_BATCH_END = 1;

const OFFSET_AT = 1;
const TIMESTAMP_AT = 9;
const KEY_LENGTH_AT = 17;

/** What the encoder needs of a record. */
export interface EncodableRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Headers | undefined;
  timestampMs: number;
}

/** One produced batch, encoded into a single buffer ready for one `writeSync`. */
export interface EncodedBatch {
  buffer: Buffer;
  baseOffset: number;
  count: number;
  /** Largest record timestamp in the batch (epoch ms). */
  maxTimestampMs: number;
  /** Start of each record's frame, relative to the start of `buffer`. */
  recordStarts: Uint32Array;
}

function headerBytes(headers: Headers | undefined): number {
  if (headers === undefined) return 0;
  let n = 0;
  for (const name in headers) {
    n += 6 + Buffer.byteLength(name) + Buffer.byteLength(headers[name] as string);
  }
  return n;
}

/** Batches up to this size reuse one scratch buffer when the caller writes them at once. */
const SCRATCH_MAX_BYTES = 4 * 1024 * 1024;
let scratch = Buffer.alloc(0);
let scratchView = new DataView(scratch.buffer, scratch.byteOffset, 0);

/** A buffer of `total` bytes with a DataView over it: the shared scratch when `reuse` allows. */
function output(total: number, reuse: boolean): { buffer: Buffer; view: DataView } {
  if (!reuse || total > SCRATCH_MAX_BYTES) {
    const buffer = Buffer.allocUnsafe(total);
    return { buffer, view: new DataView(buffer.buffer, buffer.byteOffset, total) };
  }
  if (scratch.length < total) {
    scratch = Buffer.allocUnsafeSlow(
      Math.min(SCRATCH_MAX_BYTES, Math.max(total, scratch.length * 2, 64 * 1024)),
    );
    scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.length);
  }
  return { buffer: scratch.subarray(0, total), view: scratchView };
}

/**
 * Encodes `records` with consecutive offsets from `baseOffset`; the last one ends the batch.
 * With `reuse`, the batch is encoded into a scratch buffer shared by every log, valid only until
 * the next `encodeBatch(…, true)`: for callers that write it out at once (`PartitionLog.append`).
 */
export function encodeBatch(
  records: readonly EncodableRecord[],
  baseOffset: number,
  reuse = false,
): EncodedBatch {
  const count = records.length;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const r = records[i]!;
    total +=
      FRAME_HEADER_BYTES +
      MIN_BODY_BYTES +
      (r.key === null ? 0 : r.key.length) +
      (r.value === null ? 0 : r.value.length) +
      headerBytes(r.headers);
  }
  const { buffer, view } = output(total, reuse);
  const recordStarts = new Uint32Array(count);
  let maxTimestampMs = Number.NEGATIVE_INFINITY;
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const r = records[i]!;
    recordStarts[i] = pos;
    const bodyStart = pos + FRAME_HEADER_BYTES;
    buffer[bodyStart] = i === count - 1 ? ATTR_BATCH_END : 0;
    view.setFloat64(bodyStart + OFFSET_AT, baseOffset + i, true);
    view.setFloat64(bodyStart + TIMESTAMP_AT, r.timestampMs, true);
    let p = writeBytes(buffer, bodyStart + KEY_LENGTH_AT, r.key);
    p = writeBytes(buffer, p, r.value);
    p = r.headers === undefined ? writeU16(buffer, p, 0) : writeHeaders(buffer, p, r.headers);
    writeU32(buffer, pos, p - bodyStart);
    writeU32(buffer, pos + 4, crc32Range(buffer, bodyStart, p, view));
    if (r.timestampMs > maxTimestampMs) maxTimestampMs = r.timestampMs;
    pos = p;
  }
  return { buffer, baseOffset, count, maxTimestampMs, recordStarts };
}

/** Little-endian u32 at `at` (the caller sized the buffer: no range checks). */
function writeU32(buffer: Buffer, at: number, v: number): void {
  buffer[at] = v;
  buffer[at + 1] = v >>> 8;
  buffer[at + 2] = v >>> 16;
  buffer[at + 3] = v >>> 24;
}

function writeU16(buffer: Buffer, at: number, v: number): number {
  buffer[at] = v;
  buffer[at + 1] = v >>> 8;
  return at + 2;
}

/** Copies below this length are a byte loop: cheaper than a `set` call for keys and small values. */
const LOOP_COPY_BYTES = 32;

function writeBytes(buffer: Buffer, at: number, bytes: Buffer | null): number {
  if (bytes === null) {
    writeU32(buffer, at, 0xffffffff);
    return at + 4;
  }
  const n = bytes.length;
  writeU32(buffer, at, n);
  const start = at + 4;
  if (n < LOOP_COPY_BYTES) for (let i = 0; i < n; i++) buffer[start + i] = bytes[i]!;
  else buffer.set(bytes, start);
  return start + n;
}

function writeHeaders(buffer: Buffer, at: number, headers: Headers | undefined): number {
  let p = at + 2;
  let n = 0;
  if (headers !== undefined) {
    for (const name in headers) {
      const nameLength = buffer.write(name, p + 2, "utf8");
      buffer.writeUInt16LE(nameLength, p);
      p += 2 + nameLength;
      const valueLength = buffer.write(headers[name] as string, p + 4, "utf8");
      buffer.writeUInt32LE(valueLength, p);
      p += 4 + valueLength;
      n++;
    }
  }
  buffer.writeUInt16LE(n, at);
  return p;
}

/** Offset of the frame starting at `frameStart` (no checks). */
export function frameOffset(buf: Buffer, frameStart: number): number {
  return buf.readDoubleLE(frameStart + FRAME_HEADER_BYTES + OFFSET_AT);
}

/** Timestamp of the frame starting at `frameStart` (no checks). */
export function frameTimestamp(buf: Buffer, frameStart: number): number {
  return buf.readDoubleLE(frameStart + FRAME_HEADER_BYTES + TIMESTAMP_AT);
}

/** Attributes byte of the frame starting at `frameStart` (no checks). */
export function frameAttributes(buf: Buffer, frameStart: number): number {
  return buf[frameStart + FRAME_HEADER_BYTES]!;
}

/** True when the frame's stored CRC matches its body. */
export function frameCrcMatches(buf: Buffer, frameStart: number, bodyLength: number): boolean {
  const bodyStart = frameStart + FRAME_HEADER_BYTES;
  return crc32Range(buf, bodyStart, bodyStart + bodyLength) === buf.readUInt32LE(frameStart + 4);
}

/** Rewrites the attributes of a frame in place and refreshes its CRC (used by compaction). */
export function setFrameAttributes(buf: Buffer, frameStart: number, attributes: number): void {
  const bodyStart = frameStart + FRAME_HEADER_BYTES;
  const bodyLength = buf.readUInt32LE(frameStart);
  buf[bodyStart] = attributes;
  buf.writeUInt32LE(crc32Range(buf, bodyStart, bodyStart + bodyLength), frameStart + 4);
}

/** Key bytes of a frame as a binary-safe string (for compaction maps), or null. */
export function frameKeyString(buf: Buffer, frameStart: number): string | null {
  const at = frameStart + FRAME_HEADER_BYTES + KEY_LENGTH_AT;
  const length = buf.readInt32LE(at);
  return length < 0 ? null : buf.toString("latin1", at + 4, at + 4 + length);
}

/** True when the frame's value is null (a tombstone). */
export function frameIsTombstone(buf: Buffer, frameStart: number): boolean {
  const at = frameStart + FRAME_HEADER_BYTES + KEY_LENGTH_AT;
  const keyLength = buf.readInt32LE(at);
  return buf.readInt32LE(at + 4 + Math.max(keyLength, 0)) < 0;
}

/**
 * Decodes one frame. Key and value are views into `buf` (no copy), so callers must not reuse
 * `buf`. Throws LOG_CORRUPT when the body's lengths do not fit the frame.
 */
export function decodeFrame(
  buf: Buffer,
  frameStart: number,
  topic: string,
  partition: number,
): IncomingRecord {
  const bodyStart = frameStart + FRAME_HEADER_BYTES;
  const bodyEnd = bodyStart + buf.readUInt32LE(frameStart);
  const offset = buf.readDoubleLE(bodyStart + OFFSET_AT);
  const timestampMs = buf.readDoubleLE(bodyStart + TIMESTAMP_AT);
  let p = bodyStart + KEY_LENGTH_AT;
  const keyLength = buf.readInt32LE(p);
  p += 4;
  const key = keyLength < 0 ? null : buf.subarray(p, p + keyLength);
  if (keyLength > 0) p += keyLength;
  const valueLength = buf.readInt32LE(p);
  p += 4;
  const value = valueLength < 0 ? null : buf.subarray(p, p + valueLength);
  if (valueLength > 0) p += valueLength;
  const headerCount = buf.readUInt16LE(p);
  p += 2;
  const headers: Headers = {};
  for (let i = 0; i < headerCount; i++) {
    const nameLength = buf.readUInt16LE(p);
    const name = buf.toString("utf8", p + 2, p + 2 + nameLength);
    p += 2 + nameLength;
    const valueBytes = buf.readUInt32LE(p);
    headers[name] = buf.toString("utf8", p + 4, p + 4 + valueBytes);
    p += 4 + valueBytes;
  }
  if (p !== bodyEnd) {
    throw new SpikemeshError("LOG_CORRUPT", `record body of ${topic}/${partition}@${offset} is malformed`, {
      context: { topic, partition, offset },
    });
  }
  return { topic, partition, offset, key, value, headers, timestampMs };
}
