import avro from "avsc";

/** Compatibility levels of a Confluent-compatible schema registry. */
export const COMPATIBILITY_LEVELS = [
  "NONE",
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
] as const;

/**
 * How a new schema must relate to the subject's earlier ones. BACKWARD: the new schema can read data
 * written with the latest earlier one; FORWARD: the latest earlier one can read data written with the
 * new one; FULL: both. `_TRANSITIVE` checks against every earlier version, not only the latest.
 */
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

/** The registry's default level, as in Confluent Schema Registry. */
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = "BACKWARD";

export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === "string" && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

/** An Avro schema the registry accepted: compact text, comparison key and avsc type. */
export interface ParsedSchema {
  /** Compact JSON of the schema as submitted (docs, defaults and logical types kept). */
  readonly text: string;
  /** Equal for schemas that differ only in whitespace, key order or `{"type": "int"}` vs `"int"`. */
  readonly key: string;
  readonly type: avro.Type;
}

/** Parses and validates an Avro schema string; throws an Error saying what is wrong. */
export function parseAvroSchema(text: string): ParsedSchema {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`schema is not valid JSON: ${(err as Error).message}`);
  }
  // avsc's parser validates names, defaults and union branches; it throws on anything invalid.
  const type = avro.Type.forSchema(json as avro.Schema);
  return { text: JSON.stringify(json), key: canonicalKey(json), type };
}

/** A stable string for comparing schemas: sorted keys, primitive wrappers collapsed. */
export function canonicalKey(json: unknown): string {
  if (Array.isArray(json)) return `[${json.map(canonicalKey).join(",")}]`;
  if (typeof json === "object" && json !== null) {
    const record = json as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    if (keys.length === 1 && keys[0] === "type" && typeof record.type === "string") {
      return JSON.stringify(record.type);
    }
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalKey(record[k])}`).join(",")}}`;
  }
  return JSON.stringify(json);
}

/** One earlier version of a subject, for compatibility checks. */
export interface EarlierVersion {
  readonly version: number;
  readonly type: avro.Type;
}

/**
 * Why `candidate` may not follow `earlier` (oldest first) under `level`; empty when it may.
 * Uses avsc resolvers: "A can read data written with B" means `A.createResolver(B)` succeeds.
 */
export function compatibilityProblems(
  candidate: avro.Type,
  earlier: readonly EarlierVersion[],
  level: CompatibilityLevel,
): string[] {
  if (level === "NONE" || earlier.length === 0) return [];
  const against = level.endsWith("_TRANSITIVE") ? earlier : earlier.slice(-1);
  const backward = level.startsWith("BACKWARD") || level.startsWith("FULL");
  const forward = level.startsWith("FORWARD") || level.startsWith("FULL");
  const problems: string[] = [];
  for (const old of against) {
    if (backward) {
      const why = unreadable(candidate, old.type);
      if (why) problems.push(`the new schema cannot read data written with version ${old.version}: ${why}`);
    }
    if (forward) {
      const why = unreadable(old.type, candidate);
      if (why) problems.push(`version ${old.version} cannot read data written with the new schema: ${why}`);
    }
  }
  return problems;
}

/** Null when `reader` can read data written with `writer`, else avsc's reason. */
function unreadable(reader: avro.Type, writer: avro.Type): string | null {
  try {
    reader.createResolver(writer);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
