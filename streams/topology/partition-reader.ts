import { randomUUID } from "node:crypto";
import { SpikemeshError } from "../errors.js";
import type { IncomingRecord, Transport } from "../transport/transport.js";

const MAX_EMPTY_POLLS = 5;
/** Longest wait for the consumer group to assign partitions before reading gives up. */
const JOIN_TIMEOUT_MS = 60_000;

/**
 * Reads partitions of a topic from their start to the end they had when the call began (store
 * restore, table bootstrap). Uses a throwaway consumer group (`<groupId>.<pid>.<random>`) that never
 * commits.
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
  // A group of its own for each call: two readers of one topic in one group (two instances restoring
  // at once) would split its partitions, and each would miss what the other was given.
  const group = `${groupId}.${process.pid}.${randomUUID().slice(0, 8)}`;
  const consumer = transport.consumer({ groupId: group, autoOffsetReset: "earliest" });
  try {
    await consumer.subscribe([topic]);
    // A compacted log may have lost its last offsets; after several empty polls nothing more is coming.
    // Empty polls count only once the group has given this consumer its partitions: on Kafka the
    // join takes a few seconds, and the polls before it are empty for that reason alone.
    let emptyPolls = 0;
    const joinBy = Date.now() + JOIN_TIMEOUT_MS;
    while (wanted.size > 0 && emptyPolls < MAX_EMPTY_POLLS) {
      signal?.throwIfAborted();
      const batch = await consumer.poll({ maxRecords: 5000, maxWaitMs: 200, ...(signal ? { signal } : {}) });
      if (batch.length === 0 && consumer.assignment().length === 0) {
        if (Date.now() > joinBy)
          throw new SpikemeshError(
            "TIMEOUT",
            `reading ${topic}: no partitions assigned to group ${group} within ${JOIN_TIMEOUT_MS} ms`,
            { retriable: true, context: { topic } },
          );
        continue;
      }
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
