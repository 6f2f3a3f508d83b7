import type { RecordType } from "../schemas/index.js";

/** One input line turned into a record value, or the reason it could not be. */
export type ParsedLine = { ok: true; value: Record<string, unknown> } | { ok: false; reason: string };

/**
 * Coerces loosely typed input (CSV cells, JSON with ISO dates) to the record's Avro field types:
 * numbers from strings, ISO dates for timestamp-millis, maps from JSON or `k=v;k2=v2`, empty
 * cells to null for nullable fields. Validation against the schema happens when encoding.
 */
export function coerceRecord(type: RecordType<unknown>, raw: Record<string, unknown>): ParsedLine {
  const fields = type.schema.fields;
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    if (!(field.name in raw)) {
      // Avro defaults fill omitted fields (copied: a shared default object must not be mutated later).
      if (field.default !== undefined) out[field.name] = structuredClone(field.default);
      continue;
    }
    const coerced = coerceValue(field.type, raw[field.name]);
    if (!coerced.ok) return { ok: false, reason: `field "${field.name}": ${coerced.reason}` };
    out[field.name] = coerced.value;
  }
  const unknown = Object.keys(raw).filter((k) => !fields.some((f) => f.name === k));
  if (unknown.length > 0) {
    return {
      ok: false,
      reason: `unknown field(s) ${unknown.map((k) => `"${k}"`).join(", ")} for ${type.name}`,
    };
  }
  return { ok: true, value: out };
}

type Coerced = { ok: true; value: unknown } | { ok: false; reason: string };

function coerceValue(type: unknown, value: unknown): Coerced {
  if (Array.isArray(type)) {
    if ((value === "" || value === null || value === undefined) && type.includes("null"))
      return { ok: true, value: null };
    const nonNull = type.filter((t) => t !== "null");
    return nonNull.length === 1 ? coerceValue(nonNull[0], value) : { ok: true, value };
  }
  const t =
    typeof type === "object" && type !== null ? (type as { type: unknown; logicalType?: string }) : { type };
  if (t.logicalType === "timestamp-millis" && typeof value === "string" && !/^-?\d+$/.test(value.trim())) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? { ok: false, reason: `"${value}" is not a date` } : { ok: true, value: ms };
  }
  switch (t.type) {
    case "int":
    case "long":
    case "float":
    case "double": {
      if (typeof value === "number") return { ok: true, value };
      if (typeof value === "string" && value.trim() !== "") {
        const n = Number(value);
        return Number.isNaN(n) && value.trim() !== "NaN"
          ? { ok: false, reason: `"${value}" is not a number` }
          : { ok: true, value: n };
      }
      return { ok: false, reason: `expected a number, got ${JSON.stringify(value)}` };
    }
    case "map":
      if (typeof value === "string") return parseMap(value);
      return { ok: true, value };
    case "bytes":
      return typeof value === "string"
        ? { ok: true, value: Buffer.from(value, "base64") }
        : { ok: true, value };
    default:
      return { ok: true, value };
  }
}

function parseMap(text: string): Coerced {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: true, value: {} };
  if (trimmed.startsWith("{")) {
    try {
      return { ok: true, value: JSON.parse(trimmed) };
    } catch {
      return { ok: false, reason: "map is not valid JSON" };
    }
  }
  const out: Record<string, string> = {};
  for (const pair of trimmed.split(";")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) return { ok: false, reason: `map entry "${pair}" is not key=value` };
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return { ok: true, value: out };
}

/** Splits one CSV line (RFC 4180 quoting, no embedded newlines). */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      cells.push(cell);
      cell = "";
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}
