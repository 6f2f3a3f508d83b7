import { join } from "node:path";
import type { Logger } from "../logger.js";
import type { TopicPartitionOffset } from "../transport/transport.js";
import { FramedFile } from "./framed-file.js";
import type { OffsetStore } from "./offset-store.js";
import type { PartitionBatch } from "./outgoing-batches.js";
import type { PartitionLog } from "./partition-log.js";
import { type EncodedBatch, encodeBatch, FRAME_HEADER_BYTES, frameTimestamp } from "./record-codec.js";
import type { TopicRegistry } from "./topic-registry.js";

interface JournalHeader {
  id: string;
  batches: { t: string; p: number; base: number; count: number; bytes: number }[];
  offsets: [group: string, topic: string, partition: number, offset: number][];
}

/** Rebuilds an encoded batch's layout from its bytes (frames are already checked by the journal CRC). */
function batchFromBytes(buffer: Buffer, baseOffset: number, count: number): EncodedBatch {
  const recordStarts = new Uint32Array(count);
  let maxTimestampMs = Number.NEGATIVE_INFINITY;
  let at = 0;
  for (let i = 0; i < count; i++) {
    recordStarts[i] = at;
    maxTimestampMs = Math.max(maxTimestampMs, frameTimestamp(buffer, at));
    at += FRAME_HEADER_BYTES + buffer.readUInt32LE(at);
  }
  return { buffer, baseOffset, count, maxTimestampMs, recordStarts };
}

/**
 * Redo journal that makes a transaction's commit all-or-nothing across partitions and offsets.
 * `commit` writes one journal entry (all encoded batches with their offsets, and the consumer
 * offsets) in a single write, then appends each batch to its partition, then commits the offsets,
 * then empties the journal. Reopening a data dir replays an entry left behind by a crash:
 * batches whose partition already ends past them are skipped, the others are appended.
 *
 * Guarantee: if the process dies (even `kill -9`) anywhere in `commit`, after reopening either
 * every record and offset of the transaction is there or none is (a torn journal entry is
 * dropped). With `fsync` the same holds across power loss; without it, a power loss can lose or
 * partially apply the last transactions, since the OS may flush files in any order.
 */
export class TransactionJournal {
  private constructor(
    private readonly file: FramedFile,
    private readonly pending: Buffer[],
  ) {}

  static open(dataDir: string, fsync: boolean, log: Logger): TransactionJournal {
    const { file, entries } = FramedFile.open(join(dataDir, "transactions.log"), fsync, log);
    return new TransactionJournal(file, entries);
  }

  /** Replays a commit interrupted by a crash; call once after topics and offsets are open. */
  recover(registry: TopicRegistry, offsets: OffsetStore, log: Logger): void {
    for (const payload of this.pending) {
      const headerLength = payload.readUInt32LE(0);
      const header = JSON.parse(payload.toString("utf8", 4, 4 + headerLength)) as JournalHeader;
      let at = 4 + headerLength;
      let replayed = 0;
      for (const b of header.batches) {
        const bytes = payload.subarray(at, at + b.bytes);
        at += b.bytes;
        const partitionLog = registry.get(b.t)?.partitions[b.p];
        if (partitionLog === undefined) {
          log.warn(
            { topic: b.t, partition: b.p, transactionalId: header.id },
            "journal: partition gone, skipped",
          );
        } else if (partitionLog.highOffset === b.base) {
          partitionLog.appendEncoded(batchFromBytes(Buffer.from(bytes), b.base, b.count));
          replayed++;
        } else if (partitionLog.highOffset < b.base + b.count) {
          log.warn(
            {
              topic: b.t,
              partition: b.p,
              base: b.base,
              high: partitionLog.highOffset,
              transactionalId: header.id,
            },
            "journal: partition does not line up with the interrupted transaction, batch skipped",
          );
        }
      }
      offsets.commitMany(groupOffsets(header.offsets));
      log.warn(
        { transactionalId: header.id, batches: header.batches.length, replayed },
        "embedded log: completed a transaction commit interrupted by a crash",
      );
    }
    this.pending.length = 0;
    this.file.clear();
  }

  /** Applies a transaction atomically with respect to process crashes (see the class doc). */
  commit(
    transactionalId: string,
    batches: readonly PartitionBatch[],
    offsets: readonly (TopicPartitionOffset & { groupId: string })[],
    offsetStore: OffsetStore,
  ): void {
    const encoded: { log: PartitionLog; batch: EncodedBatch }[] = [];
    for (const b of batches) {
      if (b.records.length > 0) encoded.push({ log: b.log, batch: encodeBatch(b.records, b.log.highOffset) });
    }
    const entry = encodeJournalEntry(
      transactionalId,
      encoded.map(({ log, batch }) => ({ topic: log.topic, partition: log.partition, batch })),
      offsets,
    );
    this.file.append(entry);
    for (const { log, batch } of encoded) log.appendEncoded(batch);
    offsetStore.commitMany(groupOffsets(offsets.map((o) => [o.groupId, o.topic, o.partition, o.offset])));
    this.file.clear();
  }

  close(): void {
    this.file.close();
  }
}

/**
 * One journal entry: `u32 headerLength | header JSON | encoded batches`. Exported so tests can
 * leave a commit half-done the way a crash would.
 */
export function encodeJournalEntry(
  transactionalId: string,
  batches: readonly { topic: string; partition: number; batch: EncodedBatch }[],
  offsets: readonly (TopicPartitionOffset & { groupId: string })[],
): Buffer {
  const header: JournalHeader = {
    id: transactionalId,
    batches: batches.map(({ topic, partition, batch }) => ({
      t: topic,
      p: partition,
      base: batch.baseOffset,
      count: batch.count,
      bytes: batch.buffer.length,
    })),
    offsets: offsets.map((o) => [o.groupId, o.topic, o.partition, o.offset]),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32LE(headerBytes.length, 0);
  return Buffer.concat([length, headerBytes, ...batches.map((b) => b.batch.buffer)]);
}

function groupOffsets(entries: JournalHeader["offsets"]): Map<string, TopicPartitionOffset[]> {
  const byGroup = new Map<string, TopicPartitionOffset[]>();
  for (const [group, topic, partition, offset] of entries) {
    const list = byGroup.get(group) ?? [];
    list.push({ topic, partition, offset });
    byGroup.set(group, list);
  }
  return byGroup;
}
