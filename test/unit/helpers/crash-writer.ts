/**
 * Child process of embedded-crash.test.ts, killed with SIGKILL while it writes. Run as
 * `node --import tsx crash-writer.ts <dataDir> <round> <ackFile>`.
 *
 * Loops as fast as it can: a plain send over several partitions, a consumer-group commit of the
 * partitions' new ends, and a transaction (records plus offsets). After each one returns it
 * appends a line to `ackFile` with one `writeSync` (a regular file, so the line is in the page
 * cache before the next write starts and survives kill -9):
 *   `S <send> <partition>:<first offset> ...`, `C <offset of partition 0>,<1>,...`, `T <t>`.
 * Before the send (even rounds) or the transaction commit (odd rounds) of iteration `i` it prints
 * `i` to stdout, for the parent to decide when to kill; stdout is buffered, so the ack file, not
 * stdout, is the record of what was acknowledged.
 */
import { openSync, writeSync } from "node:fs";
import { EmbeddedTransport } from "../../../streams/embedded/index.js";
import {
  EVENT_PARTITIONS,
  EVENTS,
  eventRecords,
  GROUP,
  TOPICS,
  TRANSACTIONAL_ID,
  TX_GROUP,
  TX_SOURCE,
  transactionRecords,
} from "./crash-workload.js";

const [dataDir, roundArg, ackPath] = process.argv.slice(2);
if (dataDir === undefined || roundArg === undefined || ackPath === undefined) {
  throw new Error("usage: crash-writer.ts <dataDir> <round> <ackFile>");
}
const round = Number(roundArg);
// Even rounds announce an iteration right before its plain send, odd ones right before its
// transaction commit, so the kill that follows lands in different writes.
const isTransactionRound = round % 2 === 1;

const transport = new EmbeddedTransport({ dataDir });
const admin = transport.admin();
await admin.createTopics(TOPICS);
const producer = transport.producer();
const txProducer = transport.producer({ transactionalId: TRANSACTIONAL_ID });
const committer = transport.consumer({ groupId: GROUP });
const ack = openSync(ackPath, "a");

const [events] = await admin.describeTopics([EVENTS]);
const ends = Array.from({ length: EVENT_PARTITIONS }, (_, p) => events!.partitions[p]!.highOffset);
// Resume after the last transaction that survived, like a consume-process-produce job would.
let t = (await admin.fetchCommittedOffsets(TX_GROUP, TX_SOURCE))[0]?.offset ?? 0;

for (let send = 0; ; send++) {
  // Announced right before the writes (records are built first), so a kill decided on the
  // announcement lands about a tenth of a millisecond later, often inside them.
  const records = eventRecords(round, send);
  if (!isTransactionRound) process.stdout.write(`${send}\n`);
  const metadata = await producer.send(records);
  const firsts = new Map<number, number>();
  for (const m of metadata) {
    if (!firsts.has(m.partition)) firsts.set(m.partition, m.offset);
    ends[m.partition] = m.offset + 1;
  }
  writeSync(ack, `S ${send} ${[...firsts].map(([p, o]) => `${p}:${o}`).join(" ")}\n`);

  await committer.commit(ends.map((offset, partition) => ({ topic: EVENTS, partition, offset })));
  writeSync(ack, `C ${ends.join(",")}\n`);

  const tx = await txProducer.transaction();
  await tx.send(transactionRecords(t));
  await tx.sendOffsets(TX_GROUP, [{ topic: TX_SOURCE, partition: 0, offset: t + 1 }]);
  if (isTransactionRound) process.stdout.write(`${send}\n`);
  await tx.commit();
  writeSync(ack, `T ${t}\n`);
  t++;

  // Let the event loop flush stdout now and then; everything above resolves in microtasks.
  if (send % 4 === 3) await new Promise<void>((resolve) => setImmediate(resolve));
}
