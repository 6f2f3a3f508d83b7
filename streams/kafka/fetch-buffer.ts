import type { IncomingRecord } from "../transport/transport.js";

interface PartitionBuffer {
  records: IncomingRecord[];
  /** Index of the next record to hand out. */
  head: number;
  bytes: number;
  /** Offset the next fetched record must have; undefined until the first fetch or a seek. */
  fetchPosition: number | undefined;
}

export interface FetchBufferLimits {
  /** A partition stops fetching at this many buffered records. */
  maxRecords: number;
  /** ...or at this many buffered key + value bytes. */
  maxBytes: number;
}

const recordBytes = (r: IncomingRecord): number => (r.key?.length ?? 0) + (r.value?.length ?? 0) + 64;

/**
 * Records fetched by kafkajs but not yet returned by `poll()`, per partition, bounded: a
 * partition is "full" at either limit and "low" again below half of both, which is when the
 * consumer pauses and resumes fetching it. Also remembers each partition's fetch position so
 * a partition kept across a rebalance resumes where fetching stopped.
 */
export class FetchBuffers {
  private readonly buffers = new Map<string, PartitionBuffer>();
  private rotation = 0;

  constructor(private readonly limits: FetchBufferLimits) {}

  /**
   * Appends fetched records, skipping any below the fetch position (a batch fetched twice);
   * `nextFetchOffset` is the offset after the batch, control records included.
   */
  append(key: string, records: readonly IncomingRecord[], nextFetchOffset: number): void {
    const buffer = this.ensure(key);
    const from = buffer.fetchPosition ?? Number.NEGATIVE_INFINITY;
    for (const r of records) {
      if (r.offset < from) continue;
      buffer.records.push(r);
      buffer.bytes += recordBytes(r);
    }
    buffer.fetchPosition = Math.max(buffer.fetchPosition ?? 0, nextFetchOffset);
  }

  /** Removes and returns up to `max` records of one partition, in offset order. */
  take(key: string, max: number): IncomingRecord[] {
    const buffer = this.buffers.get(key);
    if (buffer === undefined || max <= 0) return [];
    const end = Math.min(buffer.records.length, buffer.head + max);
    const out = buffer.records.slice(buffer.head, end);
    buffer.head = end;
    for (const r of out) buffer.bytes -= recordBytes(r);
    if (buffer.head === buffer.records.length) {
      buffer.records = [];
      buffer.head = 0;
    } else if (buffer.head > 1024 && buffer.head * 2 > buffer.records.length) {
      buffer.records = buffer.records.slice(buffer.head);
      buffer.head = 0;
    }
    return out;
  }

  /**
   * Takes up to `max` records from the given partitions, starting one partition further each
   * call so no partition starves; `onTaken` sees each partition it took from.
   */
  takeFrom(keys: readonly string[], max: number, onTaken: (key: string) => void): IncomingRecord[] {
    const out: IncomingRecord[] = [];
    const n = keys.length;
    if (n === 0) return out;
    const start = this.rotation++ % n;
    for (let i = 0; i < n && out.length < max; i++) {
      const key = keys[(start + i) % n]!;
      const taken = this.take(key, max - out.length);
      for (const r of taken) out.push(r);
      if (taken.length > 0) onTaken(key);
    }
    return out;
  }

  /** Drops buffered records and makes `offset` the next one fetched (a seek). */
  reset(key: string, offset: number): void {
    this.buffers.set(key, { records: [], head: 0, bytes: 0, fetchPosition: offset });
  }

  delete(key: string): void {
    this.buffers.delete(key);
  }

  keys(): string[] {
    return [...this.buffers.keys()];
  }

  fetchPosition(key: string): number | undefined {
    return this.buffers.get(key)?.fetchPosition;
  }

  count(key: string): number {
    const buffer = this.buffers.get(key);
    return buffer === undefined ? 0 : buffer.records.length - buffer.head;
  }

  isFull(key: string): boolean {
    const buffer = this.buffers.get(key);
    if (buffer === undefined) return false;
    return this.count(key) >= this.limits.maxRecords || buffer.bytes >= this.limits.maxBytes;
  }

  isLow(key: string): boolean {
    const buffer = this.buffers.get(key);
    if (buffer === undefined) return true;
    return this.count(key) <= this.limits.maxRecords / 2 && buffer.bytes <= this.limits.maxBytes / 2;
  }

  private ensure(key: string): PartitionBuffer {
    let buffer = this.buffers.get(key);
    if (buffer === undefined) {
      buffer = { records: [], head: 0, bytes: 0, fetchPosition: undefined };
      this.buffers.set(key, buffer);
    }
    return buffer;
  }
}
