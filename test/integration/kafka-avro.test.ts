import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AvroRecordSchema, avroSchemas, type TelemetryEvent } from "../../schemas/index.js";
import { REGISTRY_CONTENT_TYPE, RegistrySerde, WIRE_HEADER_BYTES } from "../../streams/serde/index.js";
import { type LocalApicurio, startApicurio } from "./helpers/apicurio-registry.js";
import { type KafkaHarness, kafkaHarness } from "./helpers/kafka-harness.js";

/**
 * The serde against two Confluent-compatible registries: the embedded one (a fresh one per test)
 * and Apicurio Registry (scripts/registry-apicurio.sh, one for the file, started and stopped here),
 * so the wire format and the client calls are checked against a registry we did not write.
 */
const REGISTRIES = ["embedded", "apicurio"] as const;

let apicurio: LocalApicurio | undefined;
beforeAll(async () => {
  apicurio = await startApicurio();
}, 320_000);
afterAll(async () => {
  await apicurio?.stop();
});

/** TelemetryEvent as committed, a compatible successor (added field with a default), an incompatible one. */
const v1: AvroRecordSchema = avroSchemas.TelemetryEvent;
const v2: AvroRecordSchema = {
  ...v1,
  fields: [...v1.fields, { name: "unit", type: "string", default: "", doc: "Unit of value, e.g. ms." }],
};
const v3: AvroRecordSchema = {
  ...v2,
  fields: [...v2.fields, { name: "owner", type: "string", doc: "Team owning the metric." }],
};

describe.each(REGISTRIES)("through the %s registry", (kind) => {
  let h: KafkaHarness;
  beforeEach(async () => {
    h = await kafkaHarness(kind === "apicurio" ? { registryUrl: apicurio!.url } : {});
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

  it("the @kafkajs client registers, looks ids up, pins the subject's level and decodes uncached", async () => {
    const subject = `${h.name("client")}-value`;
    const schema = {
      type: "record" as const,
      name: "ClientSide",
      namespace: "spikemesh.test",
      fields: [
        { name: "id", type: "string" },
        { name: "n", type: "int" },
      ],
    };
    const client = new SchemaRegistry({ host: h.registryUrl });
    const { id } = await client.register(schema, { subject });
    expect(await client.getLatestSchemaId(subject)).toBe(id);
    expect(await client.getRegistryId(subject, 1)).toBe(id);
    expect(await client.getRegistryIdBySchema(subject, schema)).toBe(id);
    const level = await fetch(`${h.registryUrl}/config/${subject}`).then((r) => r.json());
    expect(level).toEqual({ compatibilityLevel: "BACKWARD" });
    // The same schema under another subject, and again with other key order: the same id.
    const other = `${h.name("client-other")}-value`;
    expect((await client.register(schema, { subject: other })).id).toBe(id);
    const reordered = JSON.parse(JSON.stringify(schema, ["fields", "type", "name", "namespace"]));
    expect((await client.register(reordered, { subject })).id).toBe(id);
    expect(await client.getLatestSchemaId(subject)).toBe(id);

    const bytes = await client.encode(id, { id: "a", n: 7 });
    expect(bytes.readInt32BE(1)).toBe(id);
    expect(await new SchemaRegistry({ host: h.registryUrl }).decode(bytes)).toEqual({ id: "a", n: 7 });
  });

  it("TelemetryEvent evolves under BACKWARD: both versions decode either way, a required new field is refused", async () => {
    const subject = `${h.name("evolution")}-value`;
    const serde = new RegistrySerde({ url: h.registryUrl });
    const sample: TelemetryEvent = {
      ts: 1_700_000_000_000,
      source: "h",
      metric: "disk.latency",
      value: 4.5,
      tags: {},
    };
    const id1 = await serde.register(subject, v1);
    const bytes1 = await serde.encode(subject, sample);
    const id2 = await serde.register(subject, v2);
    expect(id2).not.toBe(id1);
    const bytes2 = await serde.encode(subject, { ...sample, unit: "ms" });
    expect(bytes1.readInt32BE(1)).toBe(id1);
    expect(bytes2.readInt32BE(1)).toBe(id2);

    // Read back by a fresh serde and a plain client, as another process would.
    const reader = new RegistrySerde({ url: h.registryUrl });
    expect(await reader.decode(bytes1)).toEqual(sample);
    expect(await reader.decode(bytes2, { readerSchema: v1 })).toEqual(sample);
    expect(await reader.decode(bytes1, { readerSchema: v2 })).toEqual({ ...sample, unit: "" });
    const client = new SchemaRegistry({ host: h.registryUrl });
    const asV1 = { [SchemaType.AVRO]: { readerSchema: JSON.parse(JSON.stringify(v1)) } };
    expect(await client.decode(bytes2, asV1)).toEqual(sample);

    const res = await fetch(`${h.registryUrl}/subjects/${subject}/versions`, {
      method: "POST",
      headers: { "Content-Type": REGISTRY_CONTENT_TYPE },
      body: JSON.stringify({ schema: JSON.stringify(v3) }),
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error_code: 409 });
    await expect(serde.register(subject, v3)).rejects.toMatchObject({
      code: "SCHEMA_INCOMPATIBLE",
      message: expect.stringContaining("owner"),
    });
    const check = await fetch(`${h.registryUrl}/compatibility/subjects/${subject}/versions/latest`, {
      method: "POST",
      headers: { "Content-Type": REGISTRY_CONTENT_TYPE },
      body: JSON.stringify({ schema: JSON.stringify(v3) }),
    }).then((r) => r.json());
    expect(check).toEqual({ is_compatible: false });
    const versions = await fetch(`${h.registryUrl}/subjects/${subject}/versions`).then((r) => r.json());
    expect(versions).toEqual([1, 2]);
  });
});
