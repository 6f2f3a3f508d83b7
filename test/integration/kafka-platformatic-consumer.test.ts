import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import {
  createKafkaTransport,
  KafkaTransport,
  PlatformaticKafkaTransport,
  type PlatformaticTransportOptions,
} from "../../streams/kafka/index.js";
import { type Consumer, type IncomingRecord, tpKey } from "../../streams/transport/transport.js";

/** Kafka-only behaviour of the @platformatic/kafka transport, beyond the shared transport contract. */
describe("PlatformaticKafkaTransport on a real broker", () => {
  let transport: PlatformaticKafkaTransport;
  let seq = 0;
  const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
  const open = (options: Partial<PlatformaticTransportOptions> = {}): PlatformaticKafkaTransport =>
    new PlatformaticKafkaTransport({
      brokers: [inject("kafkaBrokers")],
      heartbeatIntervalMs: 500,
      sessionTimeoutMs: 10_000,
      maxWaitTimeMs: 100,
      ...options,
    });
  const text = (s: string): Buffer => Buffer.from(s, "utf8");

  beforeEach(() => {
    transport = open();
  });
  afterEach(async () => {
    await transport.close();
  });

  async function pollUntil(
    consumers: Consumer[],
    done: () => boolean,
    sink?: (c: Consumer, r: IncomingRecord[]) => void,
  ): Promise<void> {
    const end = performance.now() + 30_000;
    while (!done()) {
      if (performance.now() > end) throw new Error("condition not met within 30 s");
      await Promise.all(
        consumers.map(async (c) => sink?.(c, await c.poll({ maxWaitMs: 50, maxRecords: 50 }))),
      );
    }
  }

  async function collect(c: Consumer, n: number): Promise<IncomingRecord[]> {
    const out: IncomingRecord[] = [];
    await pollUntil(
      [c],
      () => out.length >= n,
      (_c, r) => out.push(...r),
    );
    return out;
  }

  const byPartition = (records: IncomingRecord[]): Map<number, number[]> => {
    const out = new Map<number, number[]>();
    for (const r of records) out.set(r.partition, [...(out.get(r.partition) ?? []), r.offset]);
    return out;
  };

  it("createKafkaTransport picks the client by option", async () => {
    const brokers = [inject("kafkaBrokers")];
    const kafkajs = createKafkaTransport({ brokers, client: "kafkajs" });
    const platformatic = createKafkaTransport({ brokers, client: "platformatic" });
    const byDefault = createKafkaTransport({ brokers });
    expect(kafkajs).toBeInstanceOf(KafkaTransport);
    expect(platformatic).toBeInstanceOf(PlatformaticKafkaTransport);
    expect(byDefault).toBeInstanceOf(PlatformaticKafkaTransport);
    expect(() => createKafkaTransport({ brokers, client: "rdkafka" as never })).toThrow(
      /unknown Kafka client/,
    );
    await Promise.all([kafkajs.close(), platformatic.close(), byDefault.close()]);
  });

  it("bounded buffers pause and resume fetching without losing or repeating records", async () => {
    await transport.close();
    transport = open({ maxBufferedRecordsPerPartition: 40 });
    const topic = unique("backpressure");
    await transport.admin().createTopics([{ name: topic, partitions: 2 }]);
    const value = Buffer.alloc(100, 1);
    await transport
      .producer()
      .send(Array.from({ length: 3000 }, (_, i) => ({ topic, key: text(`k${i % 13}`), value })));
    const c = transport.consumer({ groupId: unique("g") });
    await c.subscribe([topic]);
    const seen = await collect(c, 3000);
    expect(seen).toHaveLength(3000);
    for (const offsets of byPartition(seen).values()) expect(offsets).toEqual(offsets.map((_, i) => i));
  });

  it("a partition kept across a rebalance continues where it was, without going back to the commit", async () => {
    const topic = unique("kept");
    await transport.admin().createTopics([{ name: topic, partitions: 4 }]);
    const producer = transport.producer();
    const send = (n: number) =>
      producer.send(
        Array.from({ length: n * 4 }, (_, i) => ({
          topic,
          key: null,
          value: text(String(i)),
          partition: i % 4,
        })),
      );
    await send(10);
    const groupId = unique("g");
    const c1 = transport.consumer({ groupId });
    await c1.subscribe([topic]);
    await collect(c1, 40);

    const c2 = transport.consumer({ groupId });
    await c2.subscribe([topic]);
    const seen = new Map<Consumer, IncomingRecord[]>([
      [c1, []],
      [c2, []],
    ]);
    const sink = (c: Consumer, r: IncomingRecord[]) => seen.get(c)!.push(...r);
    await pollUntil([c1, c2], () => c1.assignment().length === 2 && c2.assignment().length === 2, sink);
    // c2 reads its two partitions from the start (nothing was committed); c1 gets nothing again.
    await pollUntil([c1, c2], () => seen.get(c2)!.length >= 20, sink);
    await send(1);
    await pollUntil([c1, c2], () => seen.get(c1)!.length + seen.get(c2)!.length >= 24, sink);
    const mine = new Set(c1.assignment().map(tpKey));
    expect(seen.get(c1)!.map((r) => [mine.has(tpKey(r)), r.offset])).toEqual([
      [true, 10],
      [true, 10],
    ]);
    expect(seen.get(c2)).toHaveLength(22);
  });

  it("splits large sends into requests the broker accepts and returns consecutive offsets", async () => {
    const topic = unique("large");
    await transport.admin().createTopics([{ name: topic, partitions: 1 }]);
    const value = Buffer.alloc(1000, 7);
    const meta = await transport
      .producer()
      .send(Array.from({ length: 2500 }, () => ({ topic, key: null, value })));
    expect(meta.map((m) => m.offset)).toEqual(meta.map((_, i) => i));
    const [d] = await transport.admin().describeTopics([topic]);
    expect(d?.partitions[0]?.highOffset).toBe(2500);
  });

  it("rejects a partition the topic does not have, and keeps the retention it was given", async () => {
    const topic = unique("config");
    await transport.admin().createTopics([{ name: topic, partitions: 2, retentionMs: 3_600_000 }]);
    await expect(
      transport.producer().send([{ topic, key: null, value: text("x"), partition: 2 }]),
    ).rejects.toMatchObject({ code: "RECORD_INVALID" });
    const [d] = await transport.admin().describeTopics([topic]);
    expect(d).toMatchObject({ cleanupPolicy: "delete", retentionMs: 3_600_000, retentionBytes: -1 });
    await expect(
      transport.admin().createTopics([{ name: unique("bad"), partitions: 0 }]),
    ).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });

  it("read_committed skips every aborted transaction of a producer, also several in one fetch", async () => {
    const topic = unique("aborted");
    await transport.admin().createTopics([{ name: topic, partitions: 1 }]);
    const producer = transport.producer({ transactionalId: unique("tx") });
    const expected: string[] = [];
    for (let i = 0; i < 6; i++) {
      const tx = await producer.transaction();
      const values = [`${i}-a`, `${i}-b`];
      await tx.send(values.map((v) => ({ topic, key: text("k"), value: text(v) })));
      if (i % 2 === 0) {
        await tx.abort();
      } else {
        await tx.commit();
        expected.push(...values);
      }
    }
    // Everything is in the log before the reader starts, so one fetch sees all six transactions.
    const committed = transport.consumer({ groupId: unique("g") });
    await committed.subscribe([topic]);
    expect((await collect(committed, expected.length)).map((r) => r.value?.toString())).toEqual(expected);
    expect(await committed.poll({ maxWaitMs: 300 })).toEqual([]);

    const all = transport.consumer({ groupId: unique("g"), readCommitted: false });
    await all.subscribe([topic]);
    expect(await collect(all, 12)).toHaveLength(12);
  });

  it("a seek past the end of the log resets by autoOffsetReset", async () => {
    const topic = unique("range");
    await transport.admin().createTopics([{ name: topic, partitions: 1 }]);
    await transport
      .producer()
      .send(Array.from({ length: 5 }, (_, i) => ({ topic, key: null, value: text(String(i)) })));
    const c = transport.consumer({ groupId: unique("g") });
    await c.subscribe([topic]);
    await collect(c, 5);
    c.seek({ topic, partition: 0, offset: 1000 });
    expect((await collect(c, 5)).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
  });
});
