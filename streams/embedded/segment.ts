import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { describeError, SpikemeshError } from "../errors.js";
import type { Logger } from "../logger.js";
import {
  ATTR_BATCH_END,
  type EncodedBatch,
  FRAME_HEADER_BYTES,
  frameAttributes,
  frameCrcMatches,
  frameOffset,
  frameTimestamp,
  MIN_BODY_BYTES,
} from "./record-codec.js";
import { SparseIndex } from "./sparse-index.js";

/** File name of the segment starting at `baseOffset`: 20 zero-padded digits, like Kafka. */
export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, "0")}.log`;
}

/** Base offset encoded in a segment file name, or undefined for other files. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = /^(\d{20})\.log$/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

export interface SegmentOptions {
  /** Sparse index interval in bytes. */
  indexIntervalBytes: number;
  /** fdatasync after every append. */
  fsync: boolean;
}

const SCAN_CHUNK_BYTES = 1 << 20;

/**
 * One segment file of a partition: append-only, records in offset order, an in-memory sparse
 * index. All I/O is synchronous so a produced batch is in the page cache when `append` returns.
 */
export class Segment {
  /** Bytes of complete batches in the file. */
  size = 0;
  /** Number of records in the file. */
  recordCount = 0;
  /** Offset after the last record (baseOffset when empty). */
  nextOffset: number;
  /** Largest record timestamp (epoch ms); -Infinity when empty. */
  maxTimestampMs = Number.NEGATIVE_INFINITY;
  readonly index: SparseIndex;
  private fd: number;
  private isClosed = false;

  private constructor(
    readonly path: string,
    readonly baseOffset: number,
    fd: number,
    private readonly options: SegmentOptions,
  ) {
    this.fd = fd;
    this.nextOffset = baseOffset;
    this.index = new SparseIndex(options.indexIntervalBytes);
  }

  /** Creates an empty segment file (fails if it exists). */
  static create(dir: string, baseOffset: number, options: SegmentOptions): Segment {
    const path = join(dir, segmentFileName(baseOffset));
    return new Segment(path, baseOffset, openSync(path, "wx+"), options);
  }

  /**
   * Opens an existing segment and scans it: verifies every CRC, rebuilds the index, and truncates
   * a torn or corrupt tail (or a batch without its last record) with a warning.
   */
  static open(dir: string, baseOffset: number, options: SegmentOptions, log: Logger): Segment {
    const path = join(dir, segmentFileName(baseOffset));
    const segment = new Segment(path, baseOffset, openSync(path, "r+"), options);
    segment.recover(log);
    return segment;
  }

  /** Appends one encoded batch with a single write at the end of the file. */
  append(batch: EncodedBatch): void {
    const start = this.size;
    try {
      const written = writeSync(this.fd, batch.buffer, 0, batch.buffer.length, start);
      if (written !== batch.buffer.length)
        throw new Error(`short write: ${written} of ${batch.buffer.length} bytes`);
    } catch (err) {
      // Cut whatever part did land, so the file still ends on a batch boundary.
      ftruncateSync(this.fd, start);
      throw new SpikemeshError("TRANSIENT", `cannot append to ${this.path}: ${describeError(err)}`, {
        retriable: true,
        cause: err,
        context: { file: this.path, offset: batch.baseOffset },
      });
    }
    if (this.options.fsync) fdatasyncSync(this.fd);
    const starts = batch.recordStarts;
    for (let i = 0; i < starts.length; i++) this.index.maybeAdd(batch.baseOffset + i, start + starts[i]!);
    this.size = start + batch.buffer.length;
    this.recordCount += batch.count;
    this.nextOffset = batch.baseOffset + batch.count;
    if (batch.maxTimestampMs > this.maxTimestampMs) this.maxTimestampMs = batch.maxTimestampMs;
  }

  /** Reads up to `length` bytes from `position` into a fresh buffer (shorter at the end). */
  readChunk(position: number, length: number): Buffer {
    return this.readRaw(position, length, this.size);
  }

  /** Calls `visit` for every frame in file order; `chunk` is only valid during the call. */
  forEachFrame(visit: (chunk: Buffer, at: number, frameBytes: number) => void): void {
    let pos = 0;
    while (pos < this.size) {
      const chunk = this.readChunk(pos, SCAN_CHUNK_BYTES);
      let at = 0;
      while (at + FRAME_HEADER_BYTES <= chunk.length) {
        const frameBytes = FRAME_HEADER_BYTES + chunk.readUInt32LE(at);
        if (at + frameBytes > chunk.length) break;
        visit(chunk, at, frameBytes);
        at += frameBytes;
      }
      if (at === 0) {
        // One frame larger than the scan chunk: read exactly that frame.
        const frameBytes = FRAME_HEADER_BYTES + chunk.readUInt32LE(0);
        visit(this.readChunk(pos, frameBytes), 0, frameBytes);
        at = frameBytes;
      }
      pos += at;
    }
  }

  /** Average frame size in bytes, for sizing reads; 256 when empty. */
  averageFrameBytes(): number {
    return this.recordCount === 0 ? 256 : Math.ceil(this.size / this.recordCount);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    closeSync(this.fd);
  }

  /** Closes and deletes the file. */
  remove(): void {
    this.close();
    unlinkSync(this.path);
  }

  private recover(log: Logger): void {
    const fileSize = fstatSync(this.fd).size;
    let pos = 0;
    let validEnd = 0;
    let previousOffset = this.baseOffset - 1;
    let pending = { count: 0, maxTs: Number.NEGATIVE_INFINITY, nextOffset: this.baseOffset };
    let reason = "";
    let chunk: Buffer = Buffer.alloc(0);
    let chunkStart = 0;
    while (pos < fileSize) {
      if (pos + FRAME_HEADER_BYTES > chunkStart + chunk.length) {
        chunkStart = pos;
        chunk = this.readRaw(pos, Math.max(SCAN_CHUNK_BYTES, FRAME_HEADER_BYTES), fileSize);
        if (chunk.length < FRAME_HEADER_BYTES) {
          reason = "partial frame header";
          break;
        }
      }
      const at = pos - chunkStart;
      const bodyLength = chunk.readUInt32LE(at);
      const frameBytes = FRAME_HEADER_BYTES + bodyLength;
      if (bodyLength < MIN_BODY_BYTES || pos + frameBytes > fileSize) {
        reason = "partial or invalid frame";
        break;
      }
      if (at + frameBytes > chunk.length) {
        chunkStart = pos;
        chunk = this.readRaw(pos, Math.max(SCAN_CHUNK_BYTES, frameBytes), fileSize);
        continue;
      }
      const offset = frameOffset(chunk, at);
      if (!frameCrcMatches(chunk, at, bodyLength)) {
        reason = "CRC mismatch";
        break;
      }
      if (!(offset > previousOffset)) {
        reason = `offset ${offset} out of order`;
        break;
      }
      previousOffset = offset;
      this.index.maybeAdd(offset, pos);
      const ts = frameTimestamp(chunk, at);
      pending.count++;
      if (ts > pending.maxTs) pending.maxTs = ts;
      pending.nextOffset = offset + 1;
      pos += frameBytes;
      if ((frameAttributes(chunk, at) & ATTR_BATCH_END) !== 0) {
        validEnd = pos;
        this.recordCount += pending.count;
        this.nextOffset = pending.nextOffset;
        if (pending.maxTs > this.maxTimestampMs) this.maxTimestampMs = pending.maxTs;
        pending = { count: 0, maxTs: Number.NEGATIVE_INFINITY, nextOffset: this.nextOffset };
      }
    }
    if (validEnd < fileSize) {
      if (reason === "") reason = "batch without its last record";
      log.warn(
        { file: this.path, validBytes: validEnd, droppedBytes: fileSize - validEnd, reason },
        "embedded log: truncating torn tail of segment",
      );
      ftruncateSync(this.fd, validEnd);
      this.index.truncateAt(validEnd);
    }
    this.size = validEnd;
  }

  private readRaw(position: number, length: number, fileSize: number): Buffer {
    const n = Math.max(0, Math.min(length, fileSize - position));
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, buf, got, n - got, position + got);
      if (r === 0) break;
      got += r;
    }
    return buf.subarray(0, got);
  }
}
