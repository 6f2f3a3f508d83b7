import { join } from "node:path";
import avro from "avsc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordTypes } from "../../schemas/index.js";
import { avroBoundsError } from "../../streams/serde/avro-bounds.js";
import { RegistrySerde, SchemaRegistryServer } from "../../streams/serde/index.js";
import { decodeAvro } from "../../streams/topology/local-codec.js";
import { frame } from "../helpers/hostile-records.js";
import { tempDir } from "./helpers/temp-dir.js";

/** Zig-zag varint of a non-negative count that may exceed 2^31. */
function varint(n: bigint): Buffer {
  let z = n * 2n;
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out);
}

/** A TelemetryEvent body up to its `tags` map, whose block then claims `count` entries. */
function telemetryClaiming(count: bigint): Buffer {
  const type = avro.Type.forSchema(recordTypes.TelemetryEvent.schema as unknown as avro.Schema);
  const valid = type.toBuffer({ ts: 1, source: "s", metric: "m", value: 1, tags: {} });
  // The body ends with the empty map's 0 count byte; replace it with a huge count and one entry.
  return Buffer.concat([valid.subarray(0, valid.length - 1), varint(count), Buffer.from([2, 0x6b, 0])]);
}

describe("Avro bounds check before decoding", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let registry: SchemaRegistryServer;
  let serde: RegistrySerde;
  beforeAll(async () => {
    tmp = await tempDir("spikemesh-bounds-");
    registry = new SchemaRegistryServer({ dataDir: join(tmp.dir, "registry") });
    serde = new RegistrySerde({ url: await registry.start() });
  });
  afterAll(async () => {
    await registry?.close();
    await tmp?.remove();
  });

  it("a map claiming 2^60 entries in a few bytes is a DecodeError at once, not an endless decode", async () => {
    const id = await serde.register("bounds-value", recordTypes.TelemetryEvent);
    const body = telemetryClaiming(2n ** 60n);
    const started = performance.now();
    for (const readerSchema of [recordTypes.TelemetryEvent.schema, undefined]) {
      await expect(serde.decode(frame(id, body), readerSchema ? { readerSchema } : {})).rejects.toMatchObject(
        {
          code: "DECODE_FAILED",
          message: expect.stringMatching(
            /truncated or corrupt\): a map block claims \d+ entries with \d+ bytes left/,
          ),
        },
      );
    }
    expect(() => decodeAvro(recordTypes.TelemetryEvent.schema, body, "test")).toThrow(/map block claims/);
    // Generous: the unchecked decode of this body would run for hours.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("an array of records claiming more items than bytes left is refused", () => {
    const type = avro.Type.forSchema(recordTypes.ReasoningRequest.schema as unknown as avro.Schema);
    const fields = type.toBuffer({
      id: "r",
      ts: 1,
      tier: "t",
      route: "r",
      source: "s",
      spikes: [],
      context: "{}",
      deadline: 2,
      depth: 0,
    });
    // id, ts, tier, route, source, then the spikes array: count 10^9 followed by a few bytes.
    const prefix = fields.subarray(0, 2 + 1 + 2 + 2 + 2);
    const body = Buffer.concat([prefix, varint(1_000_000_000n), Buffer.alloc(20)]);
    expect(avroBoundsError(type, body)?.message).toMatch(
      /array block claims 1000000000 entries with 20 bytes left/,
    );
  });

  it("strings longer than the bytes left, negative lengths and runaway varints are refused", () => {
    const type = avro.Type.forSchema(recordTypes.LogEvent.schema as unknown as avro.Schema);
    const valid = type.toBuffer({
      ts: 5,
      source: "src",
      level: "WARN",
      message: "hello",
      fields: { a: "b" },
    });
    expect(avroBoundsError(type, valid)).toBeNull();
    for (let cut = 0; cut < valid.length; cut++) {
      expect(avroBoundsError(type, valid.subarray(0, cut)), `cut at ${cut}`).not.toBeNull();
    }
    const negative = Buffer.concat([Buffer.from([10]), Buffer.from([3])]); // ts 5, source length -2
    expect(avroBoundsError(type, negative)?.message).toMatch(/negative length/);
    expect(avroBoundsError(type, Buffer.alloc(12, 0xff))?.message).toMatch(/longer than 10 bytes/);
  });

  it("accepts every valid encoding: 300 random values of each record type", () => {
    for (const [name, recordType] of Object.entries(recordTypes)) {
      const type = avro.Type.forSchema(recordType.schema as unknown as avro.Schema);
      for (let i = 0; i < 300; i++) {
        const bytes = type.toBuffer(type.random());
        expect(avroBoundsError(type, bytes), `${name} #${i}`).toBeNull();
      }
    }
  });
});
