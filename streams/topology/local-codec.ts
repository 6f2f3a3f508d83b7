import avro from "avsc";
import { DecodeError, SpikemeshError } from "../errors.js";
import { avroBoundsError } from "../serde/avro-bounds.js";

const typeCache = new WeakMap<object, avro.Type>();

/** The avsc Type for a schema object, built once. */
export function avroType(schema: unknown): avro.Type {
  const key = schema as object;
  let type = typeCache.get(key);
  if (!type) {
    type = avro.Type.forSchema(schema as avro.Schema);
    typeCache.set(key, type);
  }
  return type;
}

/** Paths of the fields that make `value` invalid for `type`, e.g. ["value", "tags.host"]. */
export function invalidPaths(type: avro.Type, value: unknown): string[] {
  const paths: string[] = [];
  type.isValid(value, {
    errorHook: (path: string[]) => {
      paths.push(path.join(".") || "(root)");
    },
  });
  return paths;
}

/** Plain Avro body encoding (no registry framing); names the bad fields on failure. */
export function encodeAvro(schema: unknown, value: unknown, what: string): Buffer {
  const type = avroType(schema);
  const bad = invalidPaths(type, value);
  if (bad.length > 0) {
    throw new SpikemeshError(
      "ENCODE_FAILED",
      `${what}: value does not match ${type.name ?? "schema"} at ${bad.join(", ")}`,
    );
  }
  return type.toBuffer(value);
}

export function decodeAvro<T>(schema: unknown, bytes: Buffer, what: string): T {
  const type = avroType(schema);
  const bounds = avroBoundsError(type, bytes);
  if (bounds !== null) {
    throw new DecodeError(`${what}: Avro body does not decode: ${bounds.message}`, { cause: bounds });
  }
  try {
    return type.fromBuffer(bytes) as T;
  } catch (err) {
    throw new DecodeError(`${what}: Avro body does not decode: ${(err as Error).message}`, { cause: err });
  }
}
