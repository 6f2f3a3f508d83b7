import { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { TelemetryEvent } from "../../schemas/index.js";
import { WIRE_HEADER_BYTES } from "../../streams/serde/index.js";
import { type KafkaHarness, kafkaHarness } from "./helpers/kafka-harness.js";

let h: KafkaHarness;
beforeEach(async () => {
  h = await kafkaHarness();
});
afterEach(async () => {
  await h.close();
});

it("Avro records round-trip through the registry and Kafka in the Confluent wire format", async () => {
  const topic = h.name("avro");
  await h.admin.createTopics([{ name: topic, partitions: 3 }]);
  const sent: TelemetryEvent[] = Array.from({ length: 60 }, (_, i) => ({
    ts: 1_700_000_000_000 + i,
    source: `host-${i % 5}`,
    metric: i % 2 === 0 ? "cpu.util" : "mem.used_bytes",
    value: i * 1.5 - 7,
    tags: { dc: `dc-${i % 3}`, "unicode ✓": "é" },
  }));
  await h.produce(topic, sent);

  // A consumer that shares nothing with the producer: its own transport and group.
  const fresh = h.transport({ clientId: "spikemesh-test-fresh" });
  const consumer = fresh.consumer({ groupId: h.name("fresh") });
  await consumer.subscribe([topic]);
  const received = [];
  const deadline = performance.now() + 30_000;
  while (received.length < sent.length && performance.now() < deadline) {
    received.push(...(await consumer.poll({ maxRecords: 100, maxWaitMs: 500 })));
  }
  await consumer.close();
  expect(received).toHaveLength(sent.length);

  const latest = (await (
    await fetch(`${h.registryUrl}/subjects/${encodeURIComponent(`${topic}-value`)}/versions/latest`)
  ).json()) as { id: number; schema: string };
  expect(JSON.parse(latest.schema)).toMatchObject({ type: "record", name: "TelemetryEvent" });

  // Decoded by the real Confluent client with nothing cached: the bytes alone name the schema.
  const independent = new SchemaRegistry({ host: h.registryUrl });
  const decoded = new Map<number, TelemetryEvent>();
  for (const rec of received) {
    const value = rec.value!;
    expect(value[0]).toBe(0);
    expect(value.readInt32BE(1)).toBe(latest.id);
    expect(value.length).toBeGreaterThan(WIRE_HEADER_BYTES);
    const event = (await independent.decode(value)) as TelemetryEvent;
    expect(rec.key?.toString()).toBe(event.source);
    expect(rec.timestampMs).toBe(event.ts);
    decoded.set(event.ts, event);
  }
  expect([...decoded.values()].sort((a, b) => a.ts - b.ts)).toEqual(sent);
  // One source, one partition: Kafka's ordering per key holds.
  const partitionsBySource = new Map<string, Set<number>>();
  for (const rec of received) {
    const source = rec.key!.toString();
    partitionsBySource.set(source, (partitionsBySource.get(source) ?? new Set()).add(rec.partition));
  }
  for (const partitions of partitionsBySource.values()) expect(partitions.size).toBe(1);
});
