import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { partitionForKey } from "../../streams/transport/partitioner.js";
import {
  type Consumer,
  type IncomingRecord,
  type TopicPartition,
  type Transport,
  tpKey,
} from "../../streams/transport/transport.js";

/** What a contract run needs from an implementation: a fresh transport and a way to clean up after it. */
export interface ContractTransport {
  transport: Transport;
  /** Runs after `transport.close()`. */
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** Longest wait for a rebalance or a delivery, in ms. Default 20 000 (Kafka rebalances take seconds). */
  deadlineMs?: number;
}

const text = (s: string): Buffer => Buffer.from(s, "utf8");
const str = (b: Buffer | null): string | null => (b === null ? null : b.toString("utf8"));

/**
 * The shared Transport contract: every implementation (embedded log, Kafka) runs it. Topics and
 * groups are unique per test, waits are on conditions with a deadline, never on sleeps.
 */
export function transportContract(
  name: string,
  makeTransport: () => Promise<ContractTransport>,
  options: ContractOptions = {},
): void {
  const deadlineMs = options.deadlineMs ?? 20_000;

  describe(`Transport contract: ${name}`, () => {
    let t: Transport;
    let cleanup: () => Promise<void>;
    let seq = 0;
    const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;

    beforeEach(async () => {
      const made = await makeTransport();
      t = made.transport;
      cleanup = made.cleanup;
    });

    afterEach(async () => {
      await t.close();
      await cleanup();
    });

    /** Polls all consumers (concurrently, as a group needs) until `done()` or the deadline. */
    async function pollUntil(
      consumers: Consumer[],
      done: () => boolean,
      sink?: (c: Consumer, records: IncomingRecord[]) => void,
    ): Promise<void> {
      const end = performance.now() + deadlineMs;
      while (!done()) {
        if (performance.now() > end) throw new Error(`condition not met within ${deadlineMs} ms`);
        await Promise.all(
          consumers.map(async (c) => {
            const records = await c.poll({ maxWaitMs: 50 });
            sink?.(c, records);
          }),
        );
      }
    }

    async function collect(consumer: Consumer, n: number): Promise<IncomingRecord[]> {
      const out: IncomingRecord[] = [];
      await pollUntil(
        [consumer],
        () => out.length >= n,
        (_c, records) => out.push(...records),
      );
      return out;
    }

    async function createTopic(prefix: string, partitions: number): Promise<string> {
      const topic = unique(prefix);
      await t.admin().createTopics([{ name: topic, partitions }]);
      return topic;
    }

    async function subscribed(topic: string, groupId = unique("g")): Promise<Consumer> {
      const c = t.consumer({ groupId });
      await c.subscribe([topic]);
      return c;
    }

    it("creates, lists, describes and deletes topics", async () => {
      const admin = t.admin();
      const topic = unique("admin");
      await admin.createTopics([{ name: topic, partitions: 3, cleanupPolicy: "compact" }]);
      await admin.createTopics([{ name: topic, partitions: 5 }]);
      expect(await admin.listTopics()).toContain(topic);
      const [d] = await admin.describeTopics([topic]);
      expect(d?.name).toBe(topic);
      expect(d?.cleanupPolicy).toBe("compact");
      expect(d?.partitions.map((p) => [p.partition, p.lowOffset, p.highOffset])).toEqual([
        [0, 0, 0],
        [1, 0, 0],
        [2, 0, 0],
      ]);
      await expect(admin.describeTopics([unique("missing")])).rejects.toMatchObject({
        code: "TOPIC_UNKNOWN",
      });
      await admin.deleteTopics([topic]);
      expect(await admin.listTopics()).not.toContain(topic);
    });

    it("keeps order per partition and round-trips key, value, headers and timestamp", async () => {
      const topic = await createTopic("order", 3);
      const producer = t.producer();
      const sent: { key: string; value: string }[] = [];
      const offsets = new Map<number, number[]>();
      for (let s = 0; s < 3; s++) {
        const batch = Array.from({ length: 70 }, (_, j) => {
          const i = s * 70 + j;
          sent.push({ key: `k${i % 7}`, value: String(i) });
          return {
            topic,
            key: text(`k${i % 7}`),
            value: text(String(i)),
            headers: { n: String(i) },
            timestampMs: 1000 + i,
          };
        });
        for (const m of await producer.send(batch)) {
          expect(m.topic).toBe(topic);
          offsets.set(m.partition, [...(offsets.get(m.partition) ?? []), m.offset]);
        }
      }
      for (const list of offsets.values()) expect(list).toEqual(list.map((_, i) => i));
      const described = await t.admin().describeTopics([topic]);
      expect(described[0]?.partitions.reduce((n, p) => n + p.highOffset, 0)).toBe(210);

      const records = await collect(await subscribed(topic), 210);
      expect(records).toHaveLength(210);
      const lastOffset = new Map<number, number>();
      const lastValueOfKey = new Map<string, number>();
      for (const r of records) {
        expect(r.offset).toBeGreaterThan(lastOffset.get(r.partition) ?? -1);
        lastOffset.set(r.partition, r.offset);
        const i = Number(str(r.value));
        expect(str(r.key)).toBe(`k${i % 7}`);
        expect(r.headers).toEqual({ n: String(i) });
        expect(r.timestampMs).toBe(1000 + i);
        expect(i).toBeGreaterThan(lastValueOfKey.get(str(r.key)!) ?? -1);
        lastValueOfKey.set(str(r.key)!, i);
      }
    });

    it("partitions keys like Kafka's default partitioner", async () => {
      const topic = await createTopic("keys", 4);
      const producer = t.producer();
      const keys = Array.from({ length: 50 }, (_, i) => `source-${i}`);
      const meta = await producer.send(keys.map((k) => ({ topic, key: text(k), value: text(k) })));
      meta.forEach((m, i) => {
        expect(m.partition).toBe(partitionForKey(text(keys[i]!), 4));
      });
      const [explicit] = await producer.send([{ topic, key: text("source-0"), value: null, partition: 3 }]);
      expect(explicit?.partition).toBe(3);
      const nullKeyed = await producer.send(
        Array.from({ length: 12 }, () => ({ topic, key: null, value: text("x") })),
      );
      expect(new Set(nullKeyed.map((m) => m.partition)).size).toBe(4);
    });

    it("splits partitions across a group and rebalances when members join and leave", async () => {
      const topic = await createTopic("group", 4);
      const groupId = unique("g");
      const revoked1: TopicPartition[] = [];
      const assigned1: TopicPartition[] = [];
      const c1 = t.consumer({ groupId });
      await c1.subscribe([topic], {
        onAssigned: (tps) => {
          assigned1.push(...tps);
        },
        onRevoked: (tps) => {
          revoked1.push(...tps);
        },
      });
      await pollUntil([c1], () => c1.assignment().length === 4);
      expect(assigned1.length).toBeGreaterThanOrEqual(4);

      const c2 = t.consumer({ groupId });
      const assigned2: TopicPartition[] = [];
      await c2.subscribe([topic], {
        onAssigned: (tps) => {
          assigned2.push(...tps);
        },
      });
      const split = (): boolean => {
        const a = c1.assignment().map(tpKey);
        const b = c2.assignment().map(tpKey);
        return a.length > 0 && b.length > 0 && a.length + b.length === 4 && new Set([...a, ...b]).size === 4;
      };
      await pollUntil([c1, c2], split);
      expect(revoked1.length).toBeGreaterThan(0);
      expect(assigned2.length).toBeGreaterThan(0);

      const producer = t.producer();
      await producer.send(
        Array.from({ length: 40 }, (_, i) => ({
          topic,
          key: null,
          value: text(String(i)),
          partition: i % 4,
        })),
      );
      const seen = new Map<Consumer, IncomingRecord[]>([
        [c1, []],
        [c2, []],
      ]);
      await pollUntil(
        [c1, c2],
        () => seen.get(c1)!.length + seen.get(c2)!.length >= 40,
        (c, records) => seen.get(c)!.push(...records),
      );
      for (const c of [c1, c2]) {
        const mine = new Set(c.assignment().map(tpKey));
        for (const r of seen.get(c)!) expect(mine.has(tpKey(r))).toBe(true);
      }
      expect(
        new Set([...seen.get(c1)!, ...seen.get(c2)!].map((r) => `${r.partition}@${r.offset}`)).size,
      ).toBe(40);

      await c2.close();
      await pollUntil([c1], () => c1.assignment().length === 4);
    });

    it("a new member of the group resumes after the committed offset", async () => {
      const topic = await createTopic("commit", 1);
      const groupId = unique("g");
      await t
        .producer()
        .send(Array.from({ length: 10 }, (_, i) => ({ topic, key: null, value: text(String(i)) })));
      const c1 = await subscribed(topic, groupId);
      expect((await collect(c1, 10)).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await c1.commit([{ topic, partition: 0, offset: 6 }]);
      await c1.close();
      expect(await t.admin().fetchCommittedOffsets(groupId, topic)).toEqual([
        { topic, partition: 0, offset: 6 },
      ]);
      expect(await t.admin().listGroups()).toContain(groupId);
      const c2 = await subscribed(topic, groupId);
      expect((await collect(c2, 4)).map((r) => r.offset)).toEqual([6, 7, 8, 9]);
    });

    it("seek moves where the next poll reads", async () => {
      const topic = await createTopic("seek", 1);
      await t
        .producer()
        .send(Array.from({ length: 10 }, (_, i) => ({ topic, key: null, value: text(String(i)) })));
      const c = await subscribed(topic);
      await collect(c, 10);
      c.seek({ topic, partition: 0, offset: 3 });
      expect((await collect(c, 7)).map((r) => r.offset)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    });

    it("pause holds a partition back until resume", async () => {
      const topic = await createTopic("pause", 2);
      const c = await subscribed(topic);
      await pollUntil([c], () => c.assignment().length === 2);
      c.pause([{ topic, partition: 0 }]);
      await t.producer().send(
        Array.from({ length: 10 }, (_, i) => ({
          topic,
          key: null,
          value: text(String(i)),
          partition: i % 2,
        })),
      );
      const first = await collect(c, 5);
      expect(first.every((r) => r.partition === 1)).toBe(true);
      expect(await c.poll({ maxWaitMs: 200 })).toEqual([]);
      c.resume([{ topic, partition: 0 }]);
      const second = await collect(c, 5);
      expect(second.every((r) => r.partition === 0)).toBe(true);
    });

    it("poll waits for data, wakes when it arrives, and ends on abort", async () => {
      const topic = await createTopic("wake", 1);
      const c = await subscribed(topic);
      await pollUntil([c], () => c.assignment().length === 1);
      const longWaitMs = 3 * deadlineMs;
      const started = performance.now();
      const pending = c.poll({ maxWaitMs: longWaitMs });
      await t.producer().send([{ topic, key: text("k"), value: text("v") }]);
      const records = await pending;
      expect(records.map((r) => str(r.value))).toEqual(["v"]);
      expect(performance.now() - started).toBeLessThan(longWaitMs);

      const controller = new AbortController();
      const aborted = c.poll({ maxWaitMs: longWaitMs, signal: controller.signal });
      controller.abort();
      expect(await aborted).toEqual([]);
    });

    it("autoOffsetReset latest starts after the records already there", async () => {
      const topic = await createTopic("latest", 1);
      const producer = t.producer();
      await producer.send([1, 2, 3].map((i) => ({ topic, key: null, value: text(`old-${i}`) })));
      const c = t.consumer({ groupId: unique("g"), autoOffsetReset: "latest" });
      await c.subscribe([topic]);
      await pollUntil([c], () => c.assignment().length === 1);
      expect(await c.poll({ maxWaitMs: 100 })).toEqual([]);
      await producer.send([{ topic, key: null, value: text("new") }]);
      expect((await collect(c, 1)).map((r) => str(r.value))).toEqual(["new"]);
    });

    it("transactions: commit publishes records and offsets together, abort discards both", async () => {
      const source = await createTopic("tx-in", 1);
      const sink = await createTopic("tx-out", 1);
      const groupId = unique("g");
      const producer = t.producer({ transactionalId: unique("tx") });
      const reader = await subscribed(sink);

      const aborted = await producer.transaction();
      await aborted.send([{ topic: sink, key: text("a"), value: text("aborted") }]);
      await aborted.sendOffsets(groupId, [{ topic: source, partition: 0, offset: 5 }]);
      await aborted.abort();

      const committed = await producer.transaction();
      await committed.send([
        { topic: sink, key: text("b"), value: text("committed-1") },
        { topic: sink, key: text("b"), value: text("committed-2") },
      ]);
      await committed.sendOffsets(groupId, [{ topic: source, partition: 0, offset: 7 }]);
      expect(await reader.poll({ maxWaitMs: 200 })).toEqual([]);
      await committed.commit();

      const values = (await collect(reader, 2)).map((r) => str(r.value));
      expect(values).toEqual(["committed-1", "committed-2"]);
      expect(await t.admin().fetchCommittedOffsets(groupId, source)).toEqual([
        { topic: source, partition: 0, offset: 7 },
      ]);
    });

    it("transactions: a new producer with a used transactionalId (a restart) fences the old one and commits", async () => {
      const sink = await createTopic("tx-fence", 1);
      const transactionalId = unique("tx");
      const first = t.producer({ transactionalId });
      const done = await first.transaction();
      await done.send([{ topic: sink, key: text("k"), value: text("first") }]);
      await done.commit();
      // The first producer's next transaction is left open, as a process killed mid-batch leaves it.
      const zombie = await first.transaction();
      await zombie.send([{ topic: sink, key: text("k"), value: text("zombie") }]);

      const second = t.producer({ transactionalId });
      const tx = await second.transaction();
      await tx.send([{ topic: sink, key: text("k"), value: text("second") }]);
      await tx.commit();
      await expect(zombie.commit()).rejects.toThrow();

      const reader = await subscribed(sink);
      expect((await collect(reader, 2)).map((r) => str(r.value))).toEqual(["first", "second"]);
      expect(await reader.poll({ maxWaitMs: 200 })).toEqual([]);
    });
  });
}
