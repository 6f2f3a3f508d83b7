import type { ChildProcess } from "node:child_process";
import { appendFileSync, readdirSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedTransport } from "../../streams/embedded/index.js";
import { encodeBatch } from "../../streams/embedded/record-codec.js";
import { encodeJournalEntry } from "../../streams/embedded/transaction-journal.js";
import { silentLogger } from "../../streams/logger.js";
import type { OutgoingRecord } from "../../streams/transport/transport.js";
import { captureLogger, type LogLine, WARN } from "./helpers/capture-logger.js";
import {
  bytesIn,
  fileSizes,
  killAtIteration,
  killIfRunning,
  readAcks,
  readByPartition,
  recordProblems,
  spawnCrashWriter,
} from "./helpers/crash-harness.js";
import {
  byPartition,
  EVENT_PARTITIONS,
  EVENTS,
  eventRecords,
  GROUP,
  TOPICS,
  TX_GROUP,
  TX_PARTITIONS,
  TX_SOURCE,
  TX_TOPIC,
  transactionRecords,
} from "./helpers/crash-workload.js";
import { tempDir } from "./helpers/temp-dir.js";

/**
 * The writer iteration each round is killed in. The kill follows the writer's announcement of the
 * iteration's send (even rounds, and each of these sends is a large one, see eventRecords) or
 * transaction (odd rounds) by about 0.1 ms, so some kills land inside a write; how many is
 * reported as an annotation.
 */
const KILL_AT_ITERATION = Array.from({ length: 12 }, (_, i) => 7 + 8 * i);

const encodedBytes = (records: readonly OutgoingRecord[], baseOffset: number): number =>
  encodeBatch(
    records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestampMs: r.timestampMs! })),
    baseOffset,
  ).buffer.length;

const tornTailWarnings = (lines: readonly LogLine[]): LogLine[] =>
  lines.filter((l) => l.level === WARN && /torn tail/.test(l.msg));

const lastSegment = (dir: string): string =>
  join(
    dir,
    readdirSync(dir)
      .filter((n) => n.endsWith(".log"))
      .sort()
      .at(-1)!,
  );

/** The transactional topic as transactions 0 … count-1 leave it, by partition. */
function transactionsUpTo(count: number): OutgoingRecord[][] {
  const out = Array.from({ length: TX_PARTITIONS }, (): OutgoingRecord[] => []);
  for (let t = 0; t < count; t++) {
    byPartition(transactionRecords(t), TX_PARTITIONS).forEach((rs, p) => {
      out[p]!.push(...rs);
    });
  }
  return out;
}

describe("embedded log crash recovery", () => {
  let root: string;
  let remove: () => Promise<void>;
  let dataDir: string;
  let child: ChildProcess | undefined;
  /** The transport a test has open, closed after a failed assertion too. */
  let t: EmbeddedTransport | undefined;

  beforeEach(async () => {
    ({ dir: root, remove } = await tempDir("spikemesh-crash-"));
    dataDir = join(root, "data");
  });
  afterEach(async () => {
    await killIfRunning(child);
    child = undefined;
    await t?.close();
    t = undefined;
    await remove();
  });

  it("keeps every acknowledged record, commit and transaction when the writer is killed with SIGKILL", async ({
    annotate,
  }) => {
    // What the log must hold, carried across rounds: each round reopens the previous round's dir.
    const events = Array.from({ length: EVENT_PARTITIONS }, (): OutgoingRecord[] => []);
    let committed = Array.from({ length: EVENT_PARTITIONS }, () => 0);
    let transactions = 0;
    const summary: string[] = [];

    for (const [round, iteration] of KILL_AT_ITERATION.entries()) {
      const ackPath = join(root, `acks-${round}.log`);
      child = spawnCrashWriter(dataDir, round, ackPath);
      await killAtIteration(child, iteration);
      const at = `round ${round}, killed in iteration ${iteration}`;
      const acks = readAcks(ackPath);
      expect(acks.sends.length, at).toBeGreaterThanOrEqual(iteration);

      const before = fileSizes(dataDir);
      const { logger, lines } = captureLogger();
      t = new EmbeddedTransport({ dataDir, logger });
      const after = fileSizes(dataDir);
      const torn = tornTailWarnings(lines);
      const problems: string[] = [];

      // One write was in flight at most, so at most one file can have a torn tail, and each
      // warning must describe the file as the kill left it.
      expect(torn.length, at).toBeLessThanOrEqual(1);
      for (const w of torn) {
        expect(w.droppedBytes, at).toBeGreaterThan(0);
        expect(before.get(w.file as string), at).toBe((w.validBytes as number) + (w.droppedBytes as number));
      }

      // Plain sends: acknowledged batches at their acknowledged offsets, then at most the batch
      // of the one send in flight (whole, or dropped as a torn tail with a warning).
      const got = await readByPartition(t, EVENTS);
      const inFlight = byPartition(eventRecords(round, acks.sends.length), EVENT_PARTITIONS);
      let landedInFlight = 0;
      for (let p = 0; p < EVENT_PARTITIONS; p++) {
        const want = events[p]!;
        acks.sends.forEach((firsts, send) => {
          const mine = byPartition(eventRecords(round, send), EVENT_PARTITIONS)[p]!;
          if (firsts.get(p) !== (mine.length > 0 ? want.length : undefined))
            problems.push(
              `send ${send} acknowledged partition ${p} at ${firsts.get(p)}, log at ${want.length}`,
            );
          want.push(...mine);
        });
        const partial = inFlight[p]!;
        const acknowledgedEnd = want.length;
        if (partial.length > 0 && got[p]!.length === want.length + partial.length) {
          want.push(...partial);
          landedInFlight++;
        }
        problems.push(...recordProblems(`${EVENTS}/${p}`, got[p]!, want));

        const dir = join(dataDir, "topics", EVENTS, String(p));
        const dropped = bytesIn(before, dir) - bytesIn(after, dir);
        const warning = torn.find((w) => (w.file as string).startsWith(`${dir}/`));
        expect(dropped, at).toBeGreaterThanOrEqual(0);
        if (dropped > 0) {
          // The dropped bytes are a prefix of the in-flight batch, which is therefore absent.
          expect(warning?.droppedBytes, at).toBe(dropped);
          expect(dropped, at).toBeLessThan(encodedBytes(partial, acknowledgedEnd));
          expect(got[p]!.length, at).toBe(acknowledgedEnd);
        } else {
          expect(warning, at).toBeUndefined();
        }
      }

      // Group commits: at least the last acknowledged one, never past the log.
      const offsets = await t.admin().fetchCommittedOffsets(GROUP, EVENTS);
      const floor = acks.lastCommit ?? committed;
      committed = got.map((_, p) => offsets.find((o) => o.partition === p)?.offset ?? 0);
      committed.forEach((offset, p) => {
        expect(offset, at).toBeGreaterThanOrEqual(floor[p]!);
        expect(offset, at).toBeLessThanOrEqual(got[p]!.length);
      });

      // Transactions: all or nothing. Its committed offset counts the applied transactions, which
      // are at least the acknowledged ones plus at most the one in flight, and exactly those are
      // in the output topic.
      expect(acks.transactions, at).toEqual(acks.transactions.map((_, i) => transactions + i));
      const lastAcknowledged = acks.transactions.at(-1) ?? transactions - 1;
      transactions = (await t.admin().fetchCommittedOffsets(TX_GROUP, TX_SOURCE))[0]?.offset ?? 0;
      expect(transactions, at).toBeGreaterThanOrEqual(lastAcknowledged + 1);
      expect(transactions, at).toBeLessThanOrEqual(lastAcknowledged + 2);
      const gotTx = await readByPartition(t, TX_TOPIC);
      transactionsUpTo(transactions).forEach((want, p) => {
        problems.push(...recordProblems(`${TX_TOPIC}/${p}`, gotTx[p]!, want));
      });
      expect(after.get(join(dataDir, "transactions.log")), at).toBe(0);
      expect(problems, at).toEqual([]);

      // Appends after recovery continue at the next offset.
      const producer = t.producer();
      for (let p = 0; p < EVENT_PARTITIONS; p++) {
        const marker: OutgoingRecord = {
          topic: EVENTS,
          partition: p,
          key: Buffer.from("after-recovery"),
          value: Buffer.from(`round ${round}`),
          headers: {},
          timestampMs: round,
        };
        const [meta] = await producer.send([marker]);
        expect(meta?.offset, at).toBe(got[p]!.length);
        events[p]!.push(marker);
      }
      await t.close();

      const replayed = lines.some((l) => l.level === WARN && /interrupted by a crash/.test(l.msg));
      summary.push(
        `round ${round}: ${acks.sends.length} sends acked, ` +
          `torn tail ${torn.length === 0 ? "none" : `${torn[0]!.droppedBytes} B in ${torn[0]!.file}`}, ` +
          `in-flight batches landed ${landedInFlight}, journal replayed ${replayed}`,
      );
    }
    const tornRounds = summary.filter((l) => !l.includes("torn tail none")).length;
    await annotate(`${tornRounds} of ${KILL_AT_ITERATION.length} kills tore a write\n${summary.join("\n")}`);
  }, 120_000);

  it("drops a simulated torn tail of a segment, the offsets file and the journal with a warning", async () => {
    t = new EmbeddedTransport({ dataDir, logger: silentLogger() });
    await t.admin().createTopics(TOPICS);
    const producer = t.producer();
    const want = Array.from({ length: EVENT_PARTITIONS }, (): OutgoingRecord[] => []);
    const lastBatch = Array.from({ length: EVENT_PARTITIONS }, (): OutgoingRecord[] => []);
    for (let send = 0; send < 12; send++) {
      await producer.send(eventRecords(0, send));
      byPartition(eventRecords(0, send), EVENT_PARTITIONS).forEach((rs, p) => {
        want[p]!.push(...rs);
        if (rs.length > 0) lastBatch[p] = rs;
      });
    }
    const ends = want.map((rs, partition) => ({ topic: EVENTS, partition, offset: rs.length }));
    await t.consumer({ groupId: GROUP }).commit(ends);
    await t.close();

    const segment = (p: number): string => lastSegment(join(dataDir, "topics", EVENTS, String(p)));
    const expectedDrops = new Map<string, number>();
    // Partition 0: a batch whose write stopped in its second record.
    const torn = encodeBatch(
      [1, 2, 3].map((i) => ({ key: Buffer.from("torn"), value: Buffer.alloc(100, i), timestampMs: i })),
      want[0]!.length,
    );
    const tornPrefix = torn.buffer.subarray(0, torn.recordStarts[1]! + 10);
    appendFileSync(segment(0), tornPrefix);
    expectedDrops.set(segment(0), tornPrefix.length);
    // Partition 1: garbage after the last batch.
    appendFileSync(segment(1), Buffer.alloc(37, 0xff));
    expectedDrops.set(segment(1), 37);
    // Partition 2: the last batch lost its last bytes, so all of it goes (it was never acknowledged).
    const lastSize = encodedBytes(lastBatch[2]!, 0);
    truncateSync(segment(2), statSync(segment(2)).size - 3);
    expectedDrops.set(segment(2), lastSize - 3);
    want[2]!.splice(want[2]!.length - lastBatch[2]!.length);
    // The offsets file: a commit entry cut after its header.
    const offsetsPath = join(dataDir, "consumer-offsets.log");
    const cutEntry = Buffer.concat([Buffer.alloc(8), Buffer.from('{"g":"crash-group","o":[')]);
    cutEntry.writeUInt32LE(64, 0);
    appendFileSync(offsetsPath, cutEntry);
    expectedDrops.set(offsetsPath, cutEntry.length);
    // The journal: a transaction entry cut in half, so nothing of it may be applied.
    const entry = encodeJournalEntry(
      "tx",
      [
        {
          topic: TX_TOPIC,
          partition: 0,
          batch: encodeBatch([{ key: null, value: null, timestampMs: 1 }], 0),
        },
      ],
      [{ groupId: TX_GROUP, topic: TX_SOURCE, partition: 0, offset: 9 }],
    );
    const framed = Buffer.concat([Buffer.alloc(8), entry]);
    framed.writeUInt32LE(entry.length, 0);
    framed.writeUInt32LE(crc32(entry), 4);
    appendFileSync(join(dataDir, "transactions.log"), framed.subarray(0, framed.length >> 1));
    expectedDrops.set(join(dataDir, "transactions.log"), framed.length >> 1);

    const { logger, lines } = captureLogger();
    t = new EmbeddedTransport({ dataDir, logger });
    const drops = new Map(tornTailWarnings(lines).map((w) => [w.file as string, w.droppedBytes as number]));
    expect(drops).toEqual(expectedDrops);
    const got = await readByPartition(t, EVENTS);
    expect(want.flatMap((rs, p) => recordProblems(`${EVENTS}/${p}`, got[p]!, rs))).toEqual([]);
    expect(await t.admin().fetchCommittedOffsets(GROUP, EVENTS)).toEqual(ends);
    expect(await t.admin().fetchCommittedOffsets(TX_GROUP, TX_SOURCE)).toEqual([]);
    expect((await readByPartition(t, TX_TOPIC)).flat()).toEqual([]);

    // Writes after recovery land right after the last intact batch and survive a clean reopen.
    const next = t.producer();
    for (let p = 0; p < EVENT_PARTITIONS; p++) {
      const record = { topic: EVENTS, partition: p, key: null, value: Buffer.from("next"), timestampMs: 5 };
      expect((await next.send([record]))[0]?.offset).toBe(want[p]!.length);
      want[p]!.push({ ...record, headers: {} });
    }
    await t.consumer({ groupId: GROUP }).commit([{ topic: EVENTS, partition: 3, offset: 1 }]);
    await t.close();
    const clean = captureLogger();
    t = new EmbeddedTransport({ dataDir, logger: clean.logger });
    expect(tornTailWarnings(clean.lines)).toEqual([]);
    const again = await readByPartition(t, EVENTS);
    expect(want.flatMap((rs, p) => recordProblems(`${EVENTS}/${p}`, again[p]!, rs))).toEqual([]);
    expect((await t.admin().fetchCommittedOffsets(GROUP, EVENTS))[3]?.offset).toBe(1);
    await t.close();
  }, 60_000);
});
