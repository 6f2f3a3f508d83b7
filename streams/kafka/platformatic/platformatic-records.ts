import type { fetchV17, KafkaRecord, RecordsBatch } from "@platformatic/kafka";
import type { Headers, IncomingRecord } from "../../transport/transport.js";

/** Batch attribute bits of Kafka's v2 record format. */
const IS_TRANSACTIONAL = 0x10;
const IS_CONTROL = 0x20;

/** A control record's key is `version:int16, type:int16`; type 0 is ABORT, 1 is COMMIT. */
function isAbortMarker(batch: RecordsBatch): boolean {
  const key = batch.records[0]?.key;
  return (batch.attributes & IS_CONTROL) !== 0 && key != null && key.length >= 4 && key.readInt16BE(2) === 0;
}

/**
 * Drops the batches of aborted transactions from a read_committed fetch, the way Kafka's Java
 * consumer does: each aborted transaction the broker lists (producer id, first offset) covers that
 * producer's transactional batches from the first offset up to its ABORT marker, or to the end of
 * the response when the marker is not in it yet (the broker only returns aborted transactions that
 * ended below the last stable offset, so a missing marker is in a later fetch). The client's own
 * filter keeps batches of a transaction whose marker is missing, and merges two aborted
 * transactions of one producer into one range; this replaces it.
 */
export function dropAborted(partition: fetchV17.FetchResponsePartition): RecordsBatch[] {
  const batches = partition.records ?? [];
  const aborted = partition.abortedTransactions;
  if (aborted.length === 0) return batches;
  const ranges = aborted.map(({ producerId, firstOffset }) => {
    const marker = batches.find(
      (b) => b.producerId === producerId && b.firstOffset >= firstOffset && isAbortMarker(b),
    );
    return { producerId, from: firstOffset, to: marker?.firstOffset ?? null };
  });
  return batches.filter((b) => {
    if ((b.attributes & IS_CONTROL) !== 0 || (b.attributes & IS_TRANSACTIONAL) === 0) return true;
    return !ranges.some(
      (r) =>
        r.producerId === b.producerId && b.firstOffset >= r.from && (r.to === null || b.firstOffset < r.to),
    );
  });
}

/** The offset after the last batch of a fetched partition (control batches included), if it had any. */
export function nextFetchOffset(batches: readonly RecordsBatch[]): number | undefined {
  let next: number | undefined;
  for (const b of batches) {
    const after = Number(b.firstOffset) + b.lastOffsetDelta + 1;
    if (next === undefined || after > next) next = after;
  }
  return next;
}

function headersOf(record: KafkaRecord): Headers {
  const out: Headers = {};
  for (const [name, value] of record.headers) {
    if (name === null) continue;
    // Repeated names: the last value wins, as in the kafkajs adapter.
    out[name.toString("utf8")] = value === null ? "" : value.toString("utf8");
  }
  return out;
}

/** The data records of fetched batches at or after `fromOffset`, as IncomingRecords in offset order. */
export function toIncomingRecords(
  topic: string,
  partition: number,
  batches: readonly RecordsBatch[],
  fromOffset: number,
): IncomingRecord[] {
  const out: IncomingRecord[] = [];
  for (const batch of batches) {
    if ((batch.attributes & IS_CONTROL) !== 0) continue;
    const base = Number(batch.firstOffset);
    for (const record of batch.records) {
      const offset = base + record.offsetDelta;
      if (offset < fromOffset) continue;
      out.push({
        topic,
        partition,
        offset,
        key: record.key ?? null,
        value: record.value ?? null,
        headers: headersOf(record),
        timestampMs: Number(batch.firstTimestamp + record.timestampDelta),
      });
    }
  }
  return out;
}
