import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { KafkaTransport, type KafkaTransportOptions } from "../../streams/kafka/index.js";
import { type Consumer, type IncomingRecord, tpKey } from "../../streams/transport/transport.js";

/** Kafka-only behaviour of KafkaTransport, beyond the shared transport contract. */
describe("KafkaTransport on a real broker", () => {
  let transport: KafkaTransport;
  let seq = 0;
  const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
  const open = (options: Partial<KafkaTransportOptions> = {}): KafkaTransport =>
    new KafkaTransport({
      brokers: [inject("kafkaBrokers")],
      heartbeatIntervalMs: 500,
      sessionTimeoutMs: 10_000,
      maxWaitTimeMs: 100,
      ...options,
    });

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
  ) {
    const end = performance.now() + 30_000;
    while (!done()) {
      if (performance.now() > end) throw new Error("condition not met within 30 s");
      await Promise.all(
        consumers.map(async (c) => sink?.(c, await c.poll({ maxWaitMs: 50, maxRecords: 50 }))),
      );
    }
  }

  const byPartition = (records: IncomingRecord[]): Map<number, number[]> => {
    const out = new Map<number, number[]>();
    for (const r of records) out.set(r.partition, [...(out.get(r.partition) ?? []), r.offset]);
    return out;
  };

  it("bounded buffers pause and resume fetching without losing or repeating records", async () => {
    await transport.close();
    transport = open({ maxBufferedRecordsPerPartition: 40 });
    const topic = unique("backpressure");
    await transport.admin().createTopics([{ name: topic, partitions: 2 }]);
    const value = Buffer.alloc(100, 1);
    await transport
      .producer()
      .send(Array.from({ length: 3000 }, (_, i) => ({ topic, key: Buffer.from(`k${i % 13}`), value })));
    const c = transport.consumer({ groupId: unique("g") });
    await c.subscribe([topic]);
    const seen: IncomingRecord[] = [];
    await pollUntil(
      [c],
      () => seen.length >= 3000,
      (_c, r) => seen.push(...r),
    );
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
          value: Buffer.from(String(i)),
          partition: i % 4,
        })),
      );
    await send(10);
    const groupId = unique("g");
    const c1 = transport.consumer({ groupId });
    await c1.subscribe([topic]);
    const first: IncomingRecord[] = [];
    await pollUntil(
      [c1],
      () => first.length >= 40,
      (_c, r) => first.push(...r),
    );

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
      transport.producer().send([{ topic, key: null, value: Buffer.from("x"), partition: 2 }]),
    ).rejects.toMatchObject({ code: "RECORD_INVALID" });
    const [d] = await transport.admin().describeTopics([topic]);
    expect(d).toMatchObject({ cleanupPolicy: "delete", retentionMs: 3_600_000, retentionBytes: -1 });
    await expect(
      transport.admin().createTopics([{ name: unique("bad"), partitions: 0 }]),
    ).rejects.toMatchObject({
      code: "CONFIG_INVALID",
    });
  });
});
