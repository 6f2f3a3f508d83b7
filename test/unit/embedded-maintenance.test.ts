import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../streams/clock.js";
import { EmbeddedTransport } from "../../streams/embedded/index.js";
import { silentLogger } from "../../streams/logger.js";
import type { IncomingRecord, OutgoingRecord, Transport } from "../../streams/transport/transport.js";
import { tempDir } from "./helpers/temp-dir.js";

const text = (s: string): Buffer => Buffer.from(s, "utf8");

async function readFrom(t: Transport, topic: string, groupId: string): Promise<IncomingRecord[]> {
  const c = t.consumer({ groupId });
  await c.subscribe([topic]);
  const out: IncomingRecord[] = [];
  for (;;) {
    const got = await c.poll({ maxRecords: 1000, maxWaitMs: 0 });
    // The first poll only joins the group; stop once a poll after that is empty.
    if (got.length === 0 && c.assignment().length > 0) break;
    out.push(...got);
  }
  await c.close();
  return out;
}

function segmentBytes(dir: string, topic: string): number[] {
  const p = join(dir, "topics", topic, "0");
  return readdirSync(p)
    .filter((f) => f.endsWith(".log"))
    .sort()
    .map((f) => statSync(join(p, f)).size);
}

describe("embedded log maintenance", () => {
  let dir: string;
  let remove: () => Promise<void>;
  let clock: ManualClock;
  let t: EmbeddedTransport;
  const open = (extra: { maintenanceIntervalMs?: number } = {}): EmbeddedTransport =>
    new EmbeddedTransport({
      dataDir: dir,
      logger: silentLogger(),
      clock,
      deleteRetentionMs: 10_000,
      ...extra,
    });

  beforeEach(async () => {
    ({ dir, remove } = await tempDir("spikemesh-maint-"));
    clock = new ManualClock(1_000_000);
    t = open();
  });
  afterEach(async () => {
    await t.close();
    await remove();
  });

  it("compacts closed segments to the latest value per key, keeping offsets, then drops old tombstones", async () => {
    await t.admin().createTopics([{ name: "table", cleanupPolicy: "compact", segmentBytes: 512 }]);
    const producer = t.producer();
    await expect(producer.send([{ topic: "table", key: null, value: text("x") }])).rejects.toMatchObject({
      code: "RECORD_INVALID",
    });
    const produced = new Map<number, { key: string; value: string | null }>();
    const latest = new Map<string, number>();
    for (let round = 0; round < 20; round++) {
      const batch: OutgoingRecord[] = [];
      for (const k of ["k0", "k1", "k2", "k3", "k4"]) {
        if (k === "k3" && round > 10) continue;
        const value = k === "k3" && round === 10 ? null : `${k}-v${round}`;
        batch.push({ topic: "table", key: text(k), value: value === null ? null : text(value) });
      }
      for (const [i, m] of (await producer.send(batch)).entries()) {
        const key = batch[i]!.key!.toString();
        produced.set(m.offset, { key, value: batch[i]!.value?.toString() ?? null });
        latest.set(key, m.offset);
      }
    }
    const high = (await t.admin().describeTopics(["table"]))[0]!.partitions[0]!.highOffset;
    expect(high).toBe(produced.size);

    // A reader half-way through must continue seamlessly across the rewrite.
    const early = t.consumer({ groupId: "early" });
    await early.subscribe(["table"]);
    const firstPart = await early.poll({ maxRecords: 7, maxWaitMs: 0 });
    expect(firstPart.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6]);

    const result = t.maintain();
    expect(result.recordsRemoved).toBeGreaterThan(0);
    expect(result.segmentsRewritten + result.segmentsDeleted).toBeGreaterThan(0);

    const rest: IncomingRecord[] = [];
    for (
      let got = await early.poll({ maxWaitMs: 0 });
      got.length > 0;
      got = await early.poll({ maxWaitMs: 0 })
    ) {
      rest.push(...got);
    }
    expect(rest[0]!.offset).toBeGreaterThan(6);

    const check = (records: IncomingRecord[]): void => {
      const activeBase = Math.max(...[...produced.keys()].filter((o) => o < high)) - 10;
      let previous = -1;
      for (const r of records) {
        expect(r.offset).toBeGreaterThan(previous);
        previous = r.offset;
        expect({ key: r.key?.toString(), value: r.value?.toString() ?? null }).toEqual(
          produced.get(r.offset),
        );
        // Superseded values survive only in the active (last) segment.
        if (r.offset < activeBase) expect(latest.get(r.key!.toString())).toBe(r.offset);
      }
      for (const offset of latest.values()) expect(records.some((r) => r.offset === offset)).toBe(true);
    };
    const compacted = await readFrom(t, "table", "after-compaction");
    expect(compacted.length).toBeLessThan(produced.size);
    check(compacted);
    expect((await t.admin().describeTopics(["table"]))[0]!.partitions[0]!.highOffset).toBe(high);
    const tombstone = compacted.find((r) => r.key?.toString() === "k3");
    expect(tombstone?.value).toBeNull();

    // Past deleteRetentionMs the tombstone (in a closed segment) goes too.
    clock.advance(10_001);
    t.maintain();
    const cleaned = await readFrom(t, "table", "after-tombstones");
    expect(cleaned.some((r) => r.key?.toString() === "k3")).toBe(false);
    expect(cleaned.map((r) => r.key?.toString()).sort()).toEqual(
      ["k0", "k1", "k2", "k4"].flatMap((k) => {
        const n = cleaned.filter((r) => r.key?.toString() === k).length;
        return Array.from({ length: n }, () => k);
      }),
    );

    // Rewritten segments survive reopening unchanged.
    await t.close();
    t = open();
    expect(await readFrom(t, "table", "after-reopen")).toEqual(cleaned);
  });

  it("size retention deletes whole oldest segments and moves lowOffset", async () => {
    await t.admin().createTopics([{ name: "sized", segmentBytes: 1000, retentionBytes: 3000 }]);
    const producer = t.producer();
    for (let b = 0; b < 30; b++) {
      await producer.send(
        Array.from({ length: 10 }, (_, i) => ({
          topic: "sized",
          key: null,
          value: text(`record-${b * 10 + i}`.padEnd(64, ".")),
        })),
      );
    }
    const consumer = t.consumer({ groupId: "slow" });
    await consumer.commit([{ topic: "sized", partition: 0, offset: 5 }]);
    await consumer.close();
    const before = segmentBytes(dir, "sized");
    expect(before.length).toBe(30);

    const result = t.maintain();
    const after = segmentBytes(dir, "sized");
    expect(result.segmentsDeleted).toBe(before.length - after.length);
    const total = after.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(3000);
    expect(total - after[0]!).toBeLessThan(3000);
    const [p] = (await t.admin().describeTopics(["sized"]))[0]!.partitions;
    expect(p!.lowOffset).toBe(result.segmentsDeleted * 10);
    expect(p!.highOffset).toBe(300);

    // A committed offset that fell off the log resets to the earliest record left.
    const records = await readFrom(t, "sized", "slow");
    expect(records[0]!.offset).toBe(p!.lowOffset);
    expect(records.at(-1)!.offset).toBe(299);

    await t.close();
    t = open();
    expect((await t.admin().describeTopics(["sized"]))[0]!.partitions[0]).toEqual(p);
  });

  it("time retention deletes segments whose newest record is too old, the active one included", async () => {
    await t.admin().createTopics([{ name: "timed", segmentBytes: 600, retentionMs: 1000 }]);
    const producer = t.producer();
    const batch = (b: number, timestampMs: number): OutgoingRecord[] =>
      Array.from({ length: 10 }, (_, i) => ({
        topic: "timed",
        key: null,
        value: text(`r-${b}-${i}`),
        timestampMs,
      }));
    for (let b = 0; b < 5; b++) await producer.send(batch(b, clock.nowMs() - 5000));
    for (let b = 5; b < 7; b++) await producer.send(batch(b, clock.nowMs()));

    t.maintain();
    let [p] = (await t.admin().describeTopics(["timed"]))[0]!.partitions;
    expect(p).toEqual({ partition: 0, lowOffset: 50, highOffset: 70 });

    clock.advance(10_000);
    t.maintain();
    [p] = (await t.admin().describeTopics(["timed"]))[0]!.partitions;
    expect(p).toEqual({ partition: 0, lowOffset: 70, highOffset: 70 });
    expect(await readFrom(t, "timed", "g")).toEqual([]);

    await t.close();
    t = open();
    expect((await t.admin().describeTopics(["timed"]))[0]!.partitions[0]).toEqual(p);
    const [m] = await t.producer().send(batch(7, clock.nowMs()));
    expect(m?.offset).toBe(70);
  });

  it("runs maintenance on a timer when maintenanceIntervalMs is set", async () => {
    await t.close();
    t = open({ maintenanceIntervalMs: 5 });
    await t.admin().createTopics([{ name: "timer", segmentBytes: 100, retentionMs: 0 }]);
    const producer = t.producer();
    await producer.send([{ topic: "timer", key: null, value: text("a"), timestampMs: 0 }]);
    await producer.send([{ topic: "timer", key: null, value: text("b"), timestampMs: 0 }]);
    const deadline = performance.now() + 10_000;
    for (;;) {
      const [p] = (await t.admin().describeTopics(["timer"]))[0]!.partitions;
      if (p!.lowOffset === 2) break;
      if (performance.now() > deadline)
        throw new Error(`timer never ran maintenance (lowOffset ${p!.lowOffset})`);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  });
});
