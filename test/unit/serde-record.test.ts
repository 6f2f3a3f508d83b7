import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ReasoningRequest,
  recordTypes,
  type SpikeRecord,
  type TelemetryEvent,
} from "../../schemas/index.js";
import { isSpikemeshError } from "../../streams/errors.js";
import {
  RegistryCodec,
  RegistrySerde,
  SchemaRegistryServer,
  valueSubject,
  WIRE_HEADER_BYTES,
} from "../../streams/serde/index.js";
import { CODEC_PENDING } from "../../streams/topology/codec.js";

let dataDir: string;
let server: SchemaRegistryServer;
let serde: RegistrySerde;

const telemetrySubject = valueSubject("telemetry.raw");
const sample: TelemetryEvent = {
  ts: 1_700_000_000_000,
  source: "host-1",
  metric: "cpu.util",
  value: 0.75,
  tags: { region: "eu" },
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "spikemesh-serde-"));
  server = new SchemaRegistryServer({ dataDir });
  serde = new RegistrySerde({ url: await server.start(), retries: 0 });
});

afterAll(async () => {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("RegistrySerde", () => {
  it("names value subjects with TopicNameStrategy", () => {
    expect(valueSubject("telemetry.raw")).toBe("telemetry.raw-value");
  });

  it("registers once per subject and schema (cached) and accepts RecordType handles", async () => {
    const [a, b] = await Promise.all([
      serde.register(telemetrySubject, recordTypes.TelemetryEvent),
      serde.register(telemetrySubject, recordTypes.TelemetryEvent.schema),
    ]);
    expect(a).toBe(b);
    expect(await serde.schemaId(telemetrySubject)).toBe(a);
  });

  it("encodes in the Confluent wire format and decodes back", async () => {
    const id = await serde.register(telemetrySubject, recordTypes.TelemetryEvent);
    const bytes = await serde.encode(telemetrySubject, sample);
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(id);
    expect(bytes.length).toBeGreaterThan(WIRE_HEADER_BYTES);
    const back = await serde.decode<TelemetryEvent>(bytes);
    expect(back).toEqual(sample);
    expect(typeof back.ts).toBe("number");
  });

  it("round-trips nested records, enums, nullable unions and bytes", async () => {
    const subject = valueSubject("escalations.phi2");
    await serde.register(subject, recordTypes.ReasoningRequest);
    const spike: SpikeRecord = {
      timestamp: sample.ts,
      source_rank: 1,
      target_rank: 2,
      type: "SENSOR_EVENT",
      payload: "{}",
      source: "host-1",
      neuron: 0,
      intensity: 0.5,
      traceId: "t",
    };
    const req: ReasoningRequest = {
      id: "r1",
      ts: sample.ts,
      tier: "phi2",
      route: "r",
      source: "host-1",
      spikes: [spike],
      context: "{}",
      deadline: sample.ts + 1000,
      depth: 1,
    };
    expect(await serde.decode(await serde.encode(subject, req))).toEqual(req);

    const media = valueSubject("media.raw");
    await serde.register(media, recordTypes.MediaEvent);
    const item = {
      ts: 1,
      source: "cam",
      kind: "IMAGE",
      contentType: "image/png",
      data: Buffer.from([1, 2]),
      uri: null,
    };
    expect(await serde.decode(await serde.encode(media, item))).toEqual(item);
  });

  it("encodes for a subject registered elsewhere using its latest id", async () => {
    const other = new RegistrySerde({ url: server.url });
    const bytes = await other.encode(telemetrySubject, sample);
    expect(bytes.readInt32BE(1)).toBe(await serde.schemaId(telemetrySubject));
    await expect(other.encode(valueSubject("never.registered"), sample)).rejects.toMatchObject({
      code: "SCHEMA_UNKNOWN",
    });
  });

  it("names the offending field when a value does not fit", async () => {
    const bad = { ...sample, value: "high", tags: { region: 3 } };
    const err = await serde.encode(telemetrySubject, bad).catch((e: unknown) => e);
    expect(isSpikemeshError(err)).toBe(true);
    expect(err).toMatchObject({ code: "ENCODE_FAILED", context: { field: "value" } });
    expect((err as Error).message).toMatch(/value: "high", expected double/);
    expect((err as Error).message).toMatch(/tags\.region: 3, expected string/);
    const missing = { ...sample, metric: undefined };
    await expect(serde.encode(telemetrySubject, missing)).rejects.toMatchObject({
      code: "ENCODE_FAILED",
      message: expect.stringMatching(/metric: missing, expected string/),
    });
  });

  describe("decode errors", () => {
    let good: Buffer;
    beforeAll(async () => {
      await serde.register(telemetrySubject, recordTypes.TelemetryEvent);
      good = await serde.encode(telemetrySubject, sample);
    });

    const expectDecodeError = async (input: unknown, pattern: RegExp) => {
      const err = await serde.decode(input).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: "DecodeError", code: "DECODE_FAILED", retriable: false });
      expect((err as Error).message).toMatch(pattern);
      return err as Error;
    };

    it("not a buffer", async () => {
      await expectDecodeError("hello", /expected a Buffer/);
      await expectDecodeError(null, /cannot decode null/);
      await expectDecodeError(new Uint8Array(good), /Uint8Array/);
    });

    it("shorter than the header", async () => {
      await expectDecodeError(Buffer.from([0, 0, 1]), /truncated record: 3 bytes/);
      await expectDecodeError(Buffer.alloc(0), /truncated record: 0 bytes/);
    });

    it("wrong magic byte", async () => {
      const bad = Buffer.from(good);
      bad[0] = 0x7b;
      await expectDecodeError(bad, /wrong magic byte 0x7b/);
    });

    it("unknown schema id", async () => {
      const bad = Buffer.from(good);
      bad.writeInt32BE(424242, 1);
      const err = await expectDecodeError(bad, /unknown schema id 424242/);
      expect(err.cause).toBeDefined();
    });

    it("truncated or corrupt body", async () => {
      const err = await expectDecodeError(
        good.subarray(0, good.length - 3),
        /does not decode with schema id/,
      );
      expect(err.cause).toBeInstanceOf(Error);
      await expectDecodeError(Buffer.concat([good, Buffer.from([1, 2])]), /trailing data/);
    });

    it("a reader schema that cannot read the writer's", async () => {
      const err = await serde
        .decode(good, { readerSchema: recordTypes.LogEvent.schema })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "DECODE_FAILED" });
      expect((err as Error).message).toMatch(/cannot be read as spikemesh.LogEvent/);
    });
  });

  it("decodes known ids without the registry and reports an unreachable one as TRANSIENT", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spikemesh-serde-offline-"));
    const local = new SchemaRegistryServer({ dataDir: dir });
    try {
      const reader = new RegistrySerde({ url: await local.start(), retries: 0 });
      const writer = new RegistrySerde({ url: local.url });
      await writer.register("offline-value", recordTypes.RouteWeight);
      const weight = { route: "r", weight: 0.5, updates: 3, ts: 10 };
      const bytes = await writer.encode("offline-value", weight);
      expect(await reader.decode(bytes)).toEqual(weight);
      await local.close();
      // Cached after the first decode: no HTTP on the hot path.
      expect(await reader.decode(bytes)).toEqual(weight);
      expect(await writer.encode("offline-value", weight)).toEqual(bytes);
      const unseen = Buffer.from(bytes);
      unseen.writeInt32BE(77, 1);
      await expect(reader.decode(unseen)).rejects.toMatchObject({ code: "TRANSIENT", retriable: true });
    } finally {
      await local.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("RegistryCodec without promises (the runner's per-record path)", () => {
  it("encodes and decodes synchronously only once the subject and id are known, byte for byte like the async path", async () => {
    const fresh = new RegistrySerde({ url: serde.url, retries: 0 });
    const codec = new RegistryCodec(fresh);
    const topic = "sync.path.telemetry";
    expect(codec.encodeSync(topic, recordTypes.TelemetryEvent, sample)).toBe(CODEC_PENDING);
    const bytes = await codec.encode(topic, recordTypes.TelemetryEvent, sample);
    const again = codec.encodeSync(topic, recordTypes.TelemetryEvent, sample);
    expect(Buffer.isBuffer(again) && again.equals(bytes)).toBe(true);

    const other = new RegistryCodec(new RegistrySerde({ url: serde.url, retries: 0 }));
    expect(other.decodeSync(topic, recordTypes.TelemetryEvent, bytes)).toBe(CODEC_PENDING);
    expect(await other.decode(topic, recordTypes.TelemetryEvent, bytes)).toEqual(sample);
    expect(other.decodeSync(topic, recordTypes.TelemetryEvent, bytes)).toEqual(sample);
  });

  it("fails the same way on both paths: ENCODE_FAILED naming the field, DecodeError for a truncated body", async () => {
    const codec = new RegistryCodec(new RegistrySerde({ url: serde.url, retries: 0 }));
    const topic = "sync.path.errors";
    const good = await codec.encode(topic, recordTypes.TelemetryEvent, sample);
    const bad = { ...sample, value: "high" };
    const failures = await Promise.all([
      codec.encode(topic, recordTypes.TelemetryEvent, bad).catch((e: unknown) => e),
      Promise.resolve().then(() => {
        try {
          return codec.encodeSync(topic, recordTypes.TelemetryEvent, bad);
        } catch (e) {
          return e;
        }
      }),
    ]);
    for (const err of failures) {
      expect(isSpikemeshError(err) && err.code).toBe("ENCODE_FAILED");
      expect((err as Error).message).toMatch(/value: "high", expected double/);
    }
    const cut = good.subarray(0, good.length - 3);
    await expect(codec.decode(topic, recordTypes.TelemetryEvent, cut)).rejects.toThrow(
      /truncated or corrupt/,
    );
    expect(() => codec.decodeSync(topic, recordTypes.TelemetryEvent, cut)).toThrow(/truncated or corrupt/);
  });
});
