import { appendFileSync, readdirSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FramedFile } from "../../streams/embedded/framed-file.js";
import { EmbeddedTransport } from "../../streams/embedded/index.js";
import { encodeBatch } from "../../streams/embedded/record-codec.js";
import { encodeJournalEntry } from "../../streams/embedded/transaction-journal.js";
import { silentLogger } from "../../streams/logger.js";
import type { IncomingRecord, Transport } from "../../streams/transport/transport.js";
import { captureLogger, WARN } from "./helpers/capture-logger.js";
import { tempDir } from "./helpers/temp-dir.js";

const text = (s: string): Buffer => Buffer.from(s, "utf8");

async function readAll(
  t: Transport,
  topic: string,
  groupId = `reader-${Math.random()}`,
): Promise<IncomingRecord[]> {
  const c = t.consumer({ groupId });
  await c.subscribe([topic]);
  const [d] = await t.admin().describeTopics([topic]);
  const expected = d!.partitions.reduce((n, p) => n + p.highOffset - p.lowOffset, 0);
  const out: IncomingRecord[] = [];
  while (out.length < expected) {
    const got = await c.poll({ maxRecords: 10_000, maxWaitMs: 1000 });
    if (got.length === 0) break;
    out.push(...got);
  }
  await c.close();
  return out;
}

describe("embedded log persistence", () => {
  let dir: string;
  let remove: () => Promise<void>;
  const open = (logger = silentLogger()): EmbeddedTransport =>
    new EmbeddedTransport({ dataDir: dir, logger });

  beforeEach(async () => {
    ({ dir, remove } = await tempDir("spikemesh-persist-"));
  });
  afterEach(async () => {
    await remove();
  });

  it("restores topics, records and committed offsets after reopening", async () => {
    let t = open();
    await t.admin().createTopics([
      { name: "events", partitions: 3, segmentBytes: 4096, retentionMs: 60_000 },
      { name: "table", cleanupPolicy: "compact" },
    ]);
    const values = Array.from({ length: 500 }, (_, i) => ({
      topic: "events",
      key: text(`k${i % 13}`),
      value: text(`value-${i}`.padEnd(60, ".")),
      headers: { i: String(i) },
    }));
    // Batches of 20, since a batch never straddles segments.
    const meta = [];
    for (let i = 0; i < values.length; i += 20)
      meta.push(...(await t.producer().send(values.slice(i, i + 20))));
    const c = t.consumer({ groupId: "g1" });
    await c.subscribe(["events"]);
    await c.poll({ maxRecords: 1 });
    await c.commit([
      { topic: "events", partition: 0, offset: 10 },
      { topic: "events", partition: 2, offset: 3 },
    ]);
    await c.commit([{ topic: "events", partition: 0, offset: 12 }]);
    const before = await t.admin().describeTopics(["events", "table"]);
    await t.close();

    // 500 records of ~100 bytes in 4 KiB segments: several files per partition.
    expect(readdirSync(join(dir, "topics", "events", "0")).length).toBeGreaterThan(3);

    t = open();
    expect(await t.admin().listTopics()).toEqual(["events", "table"]);
    expect(await t.admin().describeTopics(["events", "table"])).toEqual(before);
    expect(before[0]?.retentionMs).toBe(60_000);
    expect(before[1]?.cleanupPolicy).toBe("compact");
    expect(await t.admin().fetchCommittedOffsets("g1", "events")).toEqual([
      { topic: "events", partition: 0, offset: 12 },
      { topic: "events", partition: 2, offset: 3 },
    ]);
    expect(await t.admin().listGroups()).toEqual(["g1"]);

    const records = await readAll(t, "events");
    expect(records).toHaveLength(500);
    for (const r of records) {
      const i = Number(r.headers.i);
      expect(r.value?.toString()).toBe(`value-${i}`.padEnd(60, "."));
      expect(meta[i]).toEqual({ topic: "events", partition: r.partition, offset: r.offset });
    }

    // Appending continues at the high watermark, in the last segment.
    const [next] = await t
      .producer()
      .send([{ topic: "events", key: null, value: text("after"), partition: 1 }]);
    expect(next?.offset).toBe(before[0]?.partitions[1]?.highOffset);
    await t.close();
  });

  it("reads any offset across rolled segments through the sparse index", async () => {
    const t = new EmbeddedTransport({ dataDir: dir, logger: silentLogger(), indexIntervalBytes: 512 });
    await t.admin().createTopics([{ name: "seek", segmentBytes: 8192 }]);
    const p = t.producer();
    for (let b = 0; b < 20; b++) {
      await p.send(
        Array.from({ length: 50 }, (_, j) => ({ topic: "seek", key: null, value: text(String(b * 50 + j)) })),
      );
    }
    const c = t.consumer({ groupId: "g" });
    await c.subscribe(["seek"]);
    await c.poll({ maxRecords: 1 });
    for (const target of [0, 1, 49, 50, 333, 777, 998, 999]) {
      c.seek({ topic: "seek", partition: 0, offset: target });
      const got = await c.poll({ maxRecords: 3 });
      expect(got.map((r) => r.offset)).toEqual([target, target + 1, target + 2].filter((o) => o < 1000));
      expect(got[0]?.value?.toString()).toBe(String(target));
    }
    await t.close();
  });

  it("deleted topics stay deleted with their offsets, and a topic can be recreated", async () => {
    let t = open();
    await t.admin().createTopics([{ name: "gone", partitions: 2 }]);
    await t.producer().send([{ topic: "gone", key: text("a"), value: text("1") }]);
    await t.consumer({ groupId: "g" }).commit([{ topic: "gone", partition: 0, offset: 1 }]);
    await t.admin().deleteTopics(["gone", "never-existed"]);
    await t.close();
    t = open();
    expect(await t.admin().listTopics()).toEqual([]);
    expect(await t.admin().fetchCommittedOffsets("g", "gone")).toEqual([]);
    await t.admin().createTopics([{ name: "gone" }]);
    expect((await t.admin().describeTopics(["gone"]))[0]?.partitions).toEqual([
      { partition: 0, lowOffset: 0, highOffset: 0 },
    ]);
    await t.close();
  });

  it("completes a transaction commit that a crash interrupted, and drops a torn journal entry", async () => {
    let t = open();
    await t.admin().createTopics([{ name: "a" }, { name: "b" }, { name: "src" }]);
    await t.producer().send([{ topic: "a", key: null, value: text("existing") }]);
    await t.close();

    // The crash happened after the journal write and after partition "a" got its batch, before "b".
    const batchA = encodeBatch([{ key: null, value: text("tx-a"), timestampMs: 1 }], 1);
    const batchB = encodeBatch([{ key: null, value: text("tx-b"), timestampMs: 1 }], 0);
    const entry = encodeJournalEntry(
      "tx-1",
      [
        { topic: "a", partition: 0, batch: batchA },
        { topic: "b", partition: 0, batch: batchB },
      ],
      [{ groupId: "g", topic: "src", partition: 0, offset: 42 }],
    );
    const { file } = FramedFile.open(join(dir, "transactions.log"), false, silentLogger());
    file.append(entry);
    file.close();
    appendFileSync(join(dir, "topics", "a", "0", "00000000000000000000.log"), batchA.buffer);

    const { logger, lines } = captureLogger();
    t = open(logger);
    expect((await readAll(t, "a")).map((r) => r.value?.toString())).toEqual(["existing", "tx-a"]);
    expect((await readAll(t, "b")).map((r) => r.value?.toString())).toEqual(["tx-b"]);
    expect(await t.admin().fetchCommittedOffsets("g", "src")).toEqual([
      { topic: "src", partition: 0, offset: 42 },
    ]);
    expect(lines.some((l) => l.level === WARN && /interrupted/.test(l.msg))).toBe(true);
    expect(statSync(join(dir, "transactions.log")).size).toBe(0);
    await t.close();

    // A torn entry (the crash hit the journal write itself): nothing of it is applied.
    const torn = FramedFile.open(join(dir, "transactions.log"), false, silentLogger()).file;
    torn.append(
      encodeJournalEntry(
        "tx-2",
        [
          {
            topic: "b",
            partition: 0,
            batch: encodeBatch([{ key: null, value: text("x"), timestampMs: 1 }], 1),
          },
        ],
        [],
      ),
    );
    torn.close();
    const size = statSync(join(dir, "transactions.log")).size;
    truncateSync(join(dir, "transactions.log"), size - 3);
    const second = captureLogger();
    t = open(second.logger);
    expect((await readAll(t, "b")).map((r) => r.value?.toString())).toEqual(["tx-b"]);
    expect(second.lines.some((l) => l.level === WARN && /torn tail/.test(l.msg))).toBe(true);
    await t.close();
  });
});
