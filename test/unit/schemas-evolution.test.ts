import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import avro from "avsc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AvroRecordSchema, avroSchemas, type TelemetryEvent } from "../../schemas/index.js";
import { RegistrySerde, SchemaRegistryServer, valueSubject } from "../../streams/serde/index.js";

/** TelemetryEvent as committed. */
const v1: AvroRecordSchema = avroSchemas.TelemetryEvent;
/** A compatible successor: one added field with a default. */
const v2: AvroRecordSchema = {
  ...v1,
  fields: [...v1.fields, { name: "unit", type: "string", default: "", doc: "Unit of value, e.g. ms." }],
};
/** An incompatible successor: an added field without a default. */
const v3: AvroRecordSchema = {
  ...v2,
  fields: [...v2.fields, { name: "owner", type: "string", doc: "Team owning the metric." }],
};

const sample: TelemetryEvent = {
  ts: 1_700_000_000_000,
  source: "host-1",
  metric: "disk.latency",
  value: 4.5,
  tags: {},
};
const typeOf = (schema: AvroRecordSchema) => avro.Type.forSchema(schema as unknown as avro.Schema);

describe("TelemetryEvent evolution through avsc resolvers", () => {
  it("a v2 reader reads v1 data and gets the default", () => {
    const reader = typeOf(v2);
    const writer = typeOf(v1);
    const decoded = reader.fromBuffer(writer.toBuffer(sample), reader.createResolver(writer));
    expect(decoded).toEqual({ ...sample, unit: "" });
  });

  it("a v1 reader reads v2 data and ignores the new field", () => {
    const reader = typeOf(v1);
    const writer = typeOf(v2);
    const decoded = reader.fromBuffer(
      writer.toBuffer({ ...sample, unit: "ms" }),
      reader.createResolver(writer),
    );
    expect(decoded).toEqual(sample);
  });

  it("a reader with a required new field cannot read old data", () => {
    expect(() => typeOf(v3).createResolver(typeOf(v2))).toThrow(/owner/);
  });
});

describe("TelemetryEvent evolution through the registry", () => {
  let dataDir: string;
  let server: SchemaRegistryServer;
  let serde: RegistrySerde;
  const subject = valueSubject("telemetry.evolution");

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "spikemesh-evolution-"));
    server = new SchemaRegistryServer({ dataDir });
    serde = new RegistrySerde({ url: await server.start() });
  });

  afterAll(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("registers v2 under BACKWARD and both versions decode either way", async () => {
    const id1 = await serde.register(subject, v1);
    const bytes1 = await serde.encode(subject, sample);
    const id2 = await serde.register(subject, v2);
    expect(id2).not.toBe(id1);
    const bytes2 = await serde.encode(subject, { ...sample, unit: "ms" });
    expect(bytes1.readInt32BE(1)).toBe(id1);
    expect(bytes2.readInt32BE(1)).toBe(id2);

    const level = await fetch(`${server.url}/config/${subject}`).then((r) => r.json());
    expect(level).toEqual({ compatibilityLevel: "BACKWARD" });

    // Each record decodes with its writer's schema...
    expect(await serde.decode(bytes1)).toEqual(sample);
    expect(await serde.decode(bytes2)).toEqual({ ...sample, unit: "ms" });
    // ...and into either reader schema.
    expect(await serde.decode(bytes1, { readerSchema: v2 })).toEqual({ ...sample, unit: "" });
    expect(await serde.decode(bytes2, { readerSchema: v1 })).toEqual(sample);

    // The same through a plain client, as another process would.
    const client = new SchemaRegistry({ host: server.url });
    const asV2 = { [SchemaType.AVRO]: { readerSchema: JSON.parse(JSON.stringify(v2)) } };
    const asV1 = { [SchemaType.AVRO]: { readerSchema: JSON.parse(JSON.stringify(v1)) } };
    expect(await client.decode(bytes1, asV2)).toEqual({ ...sample, unit: "" });
    expect(await client.decode(bytes2, asV1)).toEqual(sample);
  });

  it("rejects an added required field with HTTP 409 and SCHEMA_INCOMPATIBLE", async () => {
    await serde.register(subject, v1);
    await serde.register(subject, v2);
    const res = await fetch(`${server.url}/subjects/${subject}/versions`, {
      method: "POST",
      headers: { "Content-Type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify({ schema: JSON.stringify(v3) }),
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error_code: 409 });
    await expect(serde.register(subject, v3)).rejects.toMatchObject({
      code: "SCHEMA_INCOMPATIBLE",
      message: expect.stringContaining("owner"),
    });
  });
});
