/**
 * Avro serde through the registry framing (Confluent wire format, embedded registry on localhost)
 * against plain avsc `toBuffer` / `fromBuffer` of the same TelemetryEvent values.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import avro from "avsc";
import { recordTypes, type TelemetryEvent } from "../schemas/index.js";
import { seededRandom } from "../streams/clock.js";
import { RegistryCodec, RegistrySerde, SchemaRegistryServer, valueSubject } from "../streams/serde/index.js";
import { type Suite, type TrialResult, timed } from "./measure.js";

export interface SerdeBenchOptions {
  /** Parent directory for the registry's data directory (removed by `close`). */
  tmpRoot: string;
  /** Values encoded and decoded per trial. */
  records: number;
}

const TOPIC = "telemetry.raw";
/** Distinct values cycled through. */
const POOL_SIZE = 1000;

const METRICS = ["cpu.util", "mem.used_bytes", "disk.latency_ms", "net.rx_bytes", "gpu.temp_c"];
const REGIONS = ["eu-west-1", "us-east-2", "ap-south-1"];

/** TelemetryEvents of about 100 Avro bytes: a source, a metric and four tags. */
function telemetryPool(): TelemetryEvent[] {
  const random = seededRandom(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random.next() * xs.length)]!;
  const out: TelemetryEvent[] = [];
  for (let i = 0; i < POOL_SIZE; i++) {
    const host = String(Math.floor(random.next() * 5000)).padStart(4, "0");
    out.push({
      ts: 1_795_000_000_000 + i * 250,
      source: `edge-host-${host}`,
      metric: pick(METRICS),
      value: random.next() * 100,
      tags: {
        region: pick(REGIONS),
        rack: `r${Math.floor(random.next() * 40)}`,
        device: `nvme${i % 4}n1`,
        env: "prod",
      },
    });
  }
  return out;
}

/** Async encode/decode, as the registry serdes are. */
interface AsyncSerde {
  encode(value: TelemetryEvent): Promise<Buffer>;
  decode(bytes: Buffer): Promise<unknown>;
}

/** Encodes `records` values (cycling the pool), then decodes as many pre-encoded buffers. */
async function asyncTrial(
  side: AsyncSerde,
  values: readonly TelemetryEvent[],
  encoded: readonly Buffer[],
  records: number,
): Promise<TrialResult> {
  let encodedBytes = 0;
  const encodeS = await timed(async () => {
    for (let i = 0; i < records; i++) encodedBytes += (await side.encode(values[i % values.length]!)).length;
  });
  let decodedBytes = 0;
  let check = 0;
  const decodeS = await timed(async () => {
    for (let i = 0; i < records; i++) {
      const bytes = encoded[i % encoded.length]!;
      check += ((await side.decode(bytes)) as TelemetryEvent).value;
      decodedBytes += bytes.length;
    }
  });
  return result(records, encodedBytes, encodeS, decodedBytes, decodeS, check);
}

/** The same loops over plain avsc, synchronous (no await per record, as a plain avsc user writes it). */
async function avscTrial(
  type: avro.Type,
  values: readonly TelemetryEvent[],
  encoded: readonly Buffer[],
  records: number,
): Promise<TrialResult> {
  let encodedBytes = 0;
  const encodeS = await timed(() => {
    for (let i = 0; i < records; i++) encodedBytes += type.toBuffer(values[i % values.length]!).length;
  });
  let decodedBytes = 0;
  let check = 0;
  const decodeS = await timed(() => {
    for (let i = 0; i < records; i++) {
      const bytes = encoded[i % encoded.length]!;
      check += (type.fromBuffer(bytes) as TelemetryEvent).value;
      decodedBytes += bytes.length;
    }
  });
  return result(records, encodedBytes, encodeS, decodedBytes, decodeS, check);
}

function result(
  records: number,
  encodedBytes: number,
  encodeS: number,
  decodedBytes: number,
  decodeS: number,
  check: number,
): TrialResult {
  // Using the decoded values keeps the decode from being optimised away.
  if (!Number.isFinite(check)) throw new Error("decoded values are not numbers");
  return {
    encode: { records, bytes: encodedBytes, seconds: encodeS },
    decode: { records, bytes: decodedBytes, seconds: decodeS },
  };
}

/**
 * Two suites sharing one embedded registry: RegistryCodec (what the runtime uses: subject
 * `<topic>-value`, reader-schema decode) and RegistrySerde (the wire-format client alone), each
 * against plain avsc. Call `close` on the last one to stop the registry and remove its directory.
 */
export async function serdeSuites(options: SerdeBenchOptions): Promise<Suite[]> {
  const dataDir = mkdtempSync(join(options.tmpRoot, "registry-"));
  const server = new SchemaRegistryServer({ dataDir });
  try {
    const url = await server.start();
    const serde = new RegistrySerde({ url });
    const codec = new RegistryCodec(serde);
    const type = recordTypes.TelemetryEvent;
    const subject = valueSubject(TOPIC);
    await serde.register(subject, type);
    const plain = avro.Type.forSchema(type.schema as unknown as avro.Schema);
    const values = telemetryPool();

    const viaCodec: AsyncSerde = {
      encode: (v) => codec.encode(TOPIC, type, v),
      decode: (b) => codec.decode(TOPIC, type, b),
    };
    const viaSerde: AsyncSerde = {
      encode: (v) => serde.encode(subject, v),
      decode: (b) => serde.decode(b),
    };
    const plainBytes = values.map((v) => plain.toBuffer(v));
    const framedBytes = await Promise.all(values.map((v) => serde.encode(subject, v)));
    for (let i = 0; i < values.length; i++) {
      if (!framedBytes[i]!.subarray(5).equals(plainBytes[i]!)) {
        throw new Error(`value ${i}: registry framing carries different Avro bytes than avsc`);
      }
    }

    const suite = (name: string, label: string, side: AsyncSerde): Suite => ({
      cases: [`avro encode (${name})`, `avro decode (${name})`],
      spikemesh: {
        label,
        trial: async () => {
          const t = await asyncTrial(side, values, framedBytes, options.records);
          return { [`avro encode (${name})`]: t.encode!, [`avro decode (${name})`]: t.decode! };
        },
      },
      baseline: {
        label: "avsc toBuffer / fromBuffer",
        trial: async () => {
          const t = await avscTrial(plain, values, plainBytes, options.records);
          return { [`avro encode (${name})`]: t.encode!, [`avro decode (${name})`]: t.decode! };
        },
      },
    });
    const close = async (): Promise<void> => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    };
    return [
      suite("RegistryCodec", "RegistryCodec (wire format, reader schema)", viaCodec),
      { ...suite("RegistrySerde", "RegistrySerde (wire format)", viaSerde), close },
    ];
  } catch (err) {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
