import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { crc32, deflateRawSync } from "node:zlib";
import {
  BLOCK_HEADER_BYTES,
  ENTRY_RECORD,
  ENTRY_SCHEMA,
  ENTRY_TOPIC,
  EntryWriter,
  RECORDING_MAGIC,
  type RecordedRecord,
  type RecordedSchema,
} from "./recording-format.js";

export interface RecordingWriterOptions {
  /** Raw bytes per block before it is compressed and written. Default 1 MiB. */
  blockBytes?: number;
  /** zlib level 1-9. Default 1 (fast; telemetry compresses well anyway). */
  level?: number;
}

/**
 * Writes a recording. Records are buffered into blocks; each block is compressed and written with
 * one write call, so the file is valid whenever no write is in progress (after `flush()` or
 * `close()`, and between blocks if the process dies).
 */
export class RecordingWriter {
  private readonly fd: number;
  private readonly entries = new EntryWriter();
  private readonly topics = new Map<string, number>();
  private readonly schemas = new Set<number>();
  private readonly blockBytes: number;
  private readonly level: number;
  private closed = false;
  /** Records written (including those still buffered). */
  records = 0;
  /** Bytes of the file written so far (blocks on disk). */
  bytesWritten = 0;

  constructor(
    readonly path: string,
    options: RecordingWriterOptions = {},
  ) {
    this.blockBytes = options.blockBytes ?? 1024 * 1024;
    this.level = options.level ?? 1;
    this.fd = openSync(path, "w");
    writeSync(this.fd, RECORDING_MAGIC);
    this.bytesWritten = RECORDING_MAGIC.length;
  }

  /** Embeds a schema once per registry id; records whose values use it may follow. */
  addSchema(schema: RecordedSchema): void {
    if (this.schemas.has(schema.id)) return;
    this.schemas.add(schema.id);
    this.entries.u8(ENTRY_SCHEMA);
    this.entries.varint(schema.id);
    this.entries.string(schema.subject);
    this.entries.string(schema.schema);
  }

  /** Partition counts of recorded topics, written with each topic's entry (replay recreates them so). */
  readonly topicPartitions = new Map<string, number>();

  hasSchema(id: number): boolean {
    return this.schemas.has(id);
  }

  write(rec: RecordedRecord): void {
    let topicIndex = this.topics.get(rec.topic);
    if (topicIndex === undefined) {
      topicIndex = this.topics.size;
      this.topics.set(rec.topic, topicIndex);
      this.entries.u8(ENTRY_TOPIC);
      this.entries.varint(topicIndex);
      this.entries.string(rec.topic);
      this.entries.varint(this.topicPartitions.get(rec.topic) ?? 0);
    }
    const e = this.entries;
    e.u8(ENTRY_RECORD);
    e.varint(topicIndex);
    e.varint(rec.partition);
    e.varint(rec.offset);
    e.f64(rec.timestampMs);
    e.nullable(rec.key);
    e.nullable(rec.value);
    const headers = Object.entries(rec.headers);
    e.varint(headers.length);
    for (const [k, v] of headers) {
      e.string(k);
      e.string(v);
    }
    this.records++;
    if (e.length >= this.blockBytes) this.flush();
  }

  /** Writes the buffered entries as one block. */
  flush(): void {
    if (this.entries.length === 0) return;
    const raw = this.entries.bytes();
    const compressed = deflateRawSync(raw, { level: this.level });
    const block = Buffer.allocUnsafe(BLOCK_HEADER_BYTES + compressed.length);
    block.writeUInt32LE(compressed.length, 0);
    block.writeUInt32LE(raw.length, 4);
    block.writeUInt32LE(crc32(compressed), 8);
    compressed.copy(block, BLOCK_HEADER_BYTES);
    writeSync(this.fd, block);
    this.bytesWritten += block.length;
    this.entries.reset();
  }

  /** Flushes, syncs and closes; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}
