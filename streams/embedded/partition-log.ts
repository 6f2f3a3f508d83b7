import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SpikemeshError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { IncomingRecord } from "../transport/transport.js";
import {
  decodeFrame,
  type EncodableRecord,
  type EncodedBatch,
  encodeBatch,
  FRAME_HEADER_BYTES,
  frameOffset,
  MIN_BODY_BYTES,
} from "./record-codec.js";
import { parseSegmentFileName, Segment, type SegmentOptions } from "./segment.js";

export interface PartitionLogOptions extends SegmentOptions {
  /** Roll a new segment once the active one would grow past this many bytes. */
  segmentBytes: number;
}

/** Where a sequential reader stopped, so the next read skips the index lookup. */
export interface ReadCursor {
  segment: Segment;
  position: number;
  offset: number;
}

export interface ReadResult {
  records: IncomingRecord[];
  /** Offset to read next. */
  nextOffset: number;
  cursor: ReadCursor;
}

const MIN_READ_BYTES = 16 * 1024;
const MAX_READ_BYTES = 8 * 1024 * 1024;

/**
 * One partition: an ordered list of segment files in `dir`, the last one active. Appends are
 * synchronous (one `writeSync` per batch); readers are woken through `addListener`.
 */
export class PartitionLog {
  private segments: Segment[] = [];
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly dir: string,
    readonly topic: string,
    readonly partition: number,
    private readonly options: PartitionLogOptions,
  ) {}

  /** Opens (recovering every segment) or creates the partition directory. */
  static open(
    dir: string,
    topic: string,
    partition: number,
    options: PartitionLogOptions,
    log: Logger,
  ): PartitionLog {
    mkdirSync(dir, { recursive: true });
    const p = new PartitionLog(dir, topic, partition, options);
    const bases: number[] = [];
    for (const name of readdirSync(dir)) {
      const base = parseSegmentFileName(name);
      if (base !== undefined) bases.push(base);
      // Leftovers of a compaction that died before its rename.
      else if (name.endsWith(".cleaned")) rmSync(join(dir, name), { force: true });
    }
    bases.sort((a, b) => a - b);
    for (const base of bases) {
      const segment = Segment.open(dir, base, options, log);
      const previous = p.segments.at(-1);
      if (previous !== undefined && previous.nextOffset > base) {
        throw new SpikemeshError(
          "LOG_CORRUPT",
          `segment ${segment.path} starts at ${base} but the previous one ends at ${previous.nextOffset - 1}; move the overlapping file away`,
          { context: { topic, partition, file: segment.path } },
        );
      }
      p.segments.push(segment);
    }
    if (p.segments.length === 0) p.segments.push(Segment.create(dir, 0, options));
    return p;
  }

  /** First offset still stored (base of the oldest segment). */
  get lowOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /** Offset the next record will get. */
  get highOffset(): number {
    return this.active.nextOffset;
  }

  /** Total bytes of all segment files. */
  get sizeBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  get active(): Segment {
    return this.segments.at(-1)!;
  }

  /** All segments, oldest first; the last is active. */
  allSegments(): readonly Segment[] {
    return this.segments;
  }

  /** Encodes and appends records; returns the offset of the first. */
  append(records: readonly EncodableRecord[]): number {
    // Written out before anything else encodes, so the shared scratch buffer is safe here.
    const batch = encodeBatch(records, this.highOffset, true);
    this.appendEncoded(batch);
    return batch.baseOffset;
  }

  /** Appends an already-encoded batch whose base offset must equal `highOffset`. */
  appendEncoded(batch: EncodedBatch): void {
    if (batch.baseOffset !== this.highOffset) {
      throw new SpikemeshError(
        "INVARIANT",
        `batch for ${this.topic}/${this.partition} starts at ${batch.baseOffset}, log ends at ${this.highOffset}`,
        { context: { topic: this.topic, partition: this.partition, offset: batch.baseOffset } },
      );
    }
    const active = this.active;
    if (active.size > 0 && active.size + batch.buffer.length > this.options.segmentBytes) this.roll();
    this.active.append(batch);
    for (const wake of this.listeners) wake();
  }

  /** Starts a new, empty active segment at `highOffset` (no-op when the active one is empty). */
  roll(): void {
    if (this.active.size === 0) return;
    this.segments.push(Segment.create(this.dir, this.highOffset, this.options));
  }

  /** `wake` is called after every append until removed. */
  addListener(wake: () => void): void {
    this.listeners.add(wake);
  }

  removeListener(wake: () => void): void {
    this.listeners.delete(wake);
  }

  /**
   * Reads up to `maxRecords` records with offsets ≥ `fromOffset`, in offset order. Offsets below
   * `lowOffset` are the caller's business (out of range); gaps left by compaction are skipped.
   */
  read(fromOffset: number, maxRecords: number, cursor?: ReadCursor): ReadResult {
    const records: IncomingRecord[] = [];
    let next = fromOffset;
    let idx: number;
    let pos: number;
    if (cursor !== undefined && cursor.offset === fromOffset && !cursor.segment.closed) {
      idx = this.segmentIndexFor(cursor.segment.baseOffset);
      if (this.segments[idx] !== cursor.segment) return this.read(fromOffset, maxRecords);
      pos = cursor.position;
    } else {
      idx = Math.max(0, this.segmentIndexFor(fromOffset));
      pos = this.segments[idx]!.index.floorPosition(fromOffset);
    }
    let need = 0;
    while (records.length < maxRecords && idx < this.segments.length) {
      const segment = this.segments[idx]!;
      if (pos >= segment.size || (records.length === 0 && fromOffset >= segment.nextOffset)) {
        idx++;
        pos = 0;
        continue;
      }
      const estimate = (maxRecords - records.length) * segment.averageFrameBytes() + 512;
      const want = Math.max(need, Math.min(MAX_READ_BYTES, Math.max(MIN_READ_BYTES, estimate)));
      const chunk = segment.readChunk(pos, want);
      let at = 0;
      need = 0;
      while (at + FRAME_HEADER_BYTES <= chunk.length && records.length < maxRecords) {
        const bodyLength = chunk.readUInt32LE(at);
        const frameBytes = FRAME_HEADER_BYTES + bodyLength;
        if (bodyLength < MIN_BODY_BYTES || pos + at + frameBytes > segment.size)
          this.corrupt(segment, pos + at);
        if (at + frameBytes > chunk.length) {
          if (at === 0) need = frameBytes;
          break;
        }
        if (frameOffset(chunk, at) >= fromOffset) {
          const record = decodeFrame(chunk, at, this.topic, this.partition);
          records.push(record);
          next = record.offset + 1;
        }
        at += frameBytes;
      }
      pos += at;
    }
    if (idx >= this.segments.length) {
      // Scanned to the end: anything left up to the high watermark was compacted away.
      next = Math.max(next, this.highOffset);
      const last = this.active;
      return { records, nextOffset: next, cursor: { segment: last, position: last.size, offset: next } };
    }
    return {
      records,
      nextOffset: next,
      cursor: { segment: this.segments[idx]!, position: pos, offset: next },
    };
  }

  /** Replaces a closed segment by a rewritten one with the same base offset (compaction). */
  replaceSegment(old: Segment, replacement: Segment | null): void {
    const idx = this.segments.indexOf(old);
    if (idx < 0 || idx === this.segments.length - 1) {
      throw new SpikemeshError("INVARIANT", `cannot replace segment ${old.path}: not a closed segment`);
    }
    old.close();
    if (replacement === null) this.segments.splice(idx, 1);
    else this.segments[idx] = replacement;
  }

  /** Deletes the oldest segment file; rolls first when it is the active one. */
  removeOldestSegment(): void {
    if (this.segments.length === 1) this.roll();
    if (this.segments.length === 1) return;
    this.segments.shift()!.remove();
  }

  close(): void {
    for (const s of this.segments) s.close();
    this.listeners.clear();
  }

  /** Closes and deletes the partition directory. */
  destroy(): void {
    this.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Index of the last segment whose base offset is ≤ `offset` (-1 if none). */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private corrupt(segment: Segment, position: number): never {
    throw new SpikemeshError("LOG_CORRUPT", `invalid frame in ${segment.path} at byte ${position}`, {
      context: { topic: this.topic, partition: this.partition, file: segment.path },
    });
  }
}
