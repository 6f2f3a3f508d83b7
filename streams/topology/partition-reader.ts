import type { IncomingRecord, Transport } from "../transport/transport.js";

const MAX_EMPTY_POLLS = 5;

/**
 * Reads partitions of a topic from their start to the end they had when the call began (store
 * restore, table bootstrap). Uses a throwaway consumer group that never commits.
 */
export async function readToEnd(
  transport: Transport,
  topic: string,
  partitions: readonly number[] | "all",
  groupId: string,
  onRecord: (rec: IncomingRecord) => void,
  signal?: AbortSignal,
): Promise<void> {
  const [description] = await transport.admin().describeTopics([topic]);
  if (!description) return;
  const wanted = new Map<number, number>();
  for (const p of description.partitions) {
    if ((partitions === "all" || partitions.includes(p.partition)) && p.highOffset > p.lowOffset) {
      wanted.set(p.partition, p.highOffset);
    }
  }
  if (wanted.size === 0) return;
  const consumer = transport.consumer({ groupId, autoOffsetReset: "earliest" });
  try {
    await consumer.subscribe([topic]);
    // A compacted log may have lost its last offsets; after several empty polls nothing more is coming.
    let emptyPolls = 0;
    while (wanted.size > 0 && emptyPolls < MAX_EMPTY_POLLS) {
      signal?.throwIfAborted();
      const batch = await consumer.poll({ maxRecords: 5000, maxWaitMs: 200, ...(signal ? { signal } : {}) });
      emptyPolls = batch.length === 0 ? emptyPolls + 1 : 0;
      for (const rec of batch) {
        const end = wanted.get(rec.partition);
        if (end === undefined || rec.offset >= end) continue;
        onRecord(rec);
        if (rec.offset >= end - 1) wanted.delete(rec.partition);
      }
    }
  } finally {
    await consumer.close();
  }
}
