import type avro from "avsc";

/** Most zero-byte items (nulls, empty records) one array or map block may claim. */
const MAX_EMPTY_ITEMS = 1_000_000;

/** What avroBoundsError returns: a length or count that does not fit in the bytes. */
export class AvroBoundsError extends Error {
  override readonly name = "AvroBoundsError";
}

interface AvscType {
  typeName: string;
  fields?: { type: AvscType }[];
  itemsType?: AvscType;
  valuesType?: AvscType;
  types?: AvscType[];
  size?: number;
  underlyingType?: AvscType;
}

/**
 * Why `bytes` (from `start`) cannot be an Avro encoding of `type`, or null when every length and
 * block count fits in the bytes present. One pass, no allocation, O(bytes): run it before
 * `fromBuffer`, because avsc reads an array or map block of the count the data claims, one item at a
 * time and past the end of the buffer, so a few hostile bytes claiming 2^60 entries keep a decode
 * (and the event loop) busy for hours.
 */
export function avroBoundsError(type: avro.Type, bytes: Buffer, start = 0): AvroBoundsError | null {
  const cursor = { pos: start };
  try {
    skip(type as unknown as AvscType, bytes, cursor, new Map());
    return null;
  } catch (err) {
    if (err instanceof AvroBoundsError) return err;
    throw err;
  }
}

function skip(type: AvscType, buf: Buffer, c: { pos: number }, minSizes: Map<AvscType, number>): void {
  const need = (n: number, what: string) => {
    if (c.pos + n > buf.length) {
      throw new AvroBoundsError(`${what} needs ${n} bytes at byte ${c.pos}, only ${buf.length - c.pos} left`);
    }
    c.pos += n;
  };
  const name = type.typeName;
  if (type.underlyingType) {
    skip(type.underlyingType, buf, c, minSizes);
    return;
  }
  switch (name) {
    case "null":
      return;
    case "boolean":
      need(1, "a boolean");
      return;
    case "int":
    case "long":
    case "enum":
      readLong(buf, c);
      return;
    case "float":
      need(4, "a float");
      return;
    case "double":
      need(8, "a double");
      return;
    case "fixed":
      need(type.size ?? 0, "a fixed");
      return;
    case "bytes":
    case "string": {
      const length = readLong(buf, c);
      if (length < 0) throw new AvroBoundsError(`a ${name} has negative length ${length} at byte ${c.pos}`);
      need(length, `a ${name} of ${length} bytes`);
      return;
    }
    case "record":
      for (const field of type.fields ?? []) skip(field.type, buf, c, minSizes);
      return;
    case "array":
    case "map": {
      const item = (name === "array" ? type.itemsType : type.valuesType)!;
      const minItem = minSize(item, minSizes) + (name === "map" ? 1 : 0);
      for (;;) {
        let count = readLong(buf, c);
        if (count === 0) return;
        if (count < 0) {
          count = -count;
          readLong(buf, c); // block size in bytes
        }
        const left = buf.length - c.pos;
        if (minItem > 0 ? count * minItem > left : count > MAX_EMPTY_ITEMS) {
          throw new AvroBoundsError(
            `a${name === "array" ? "n array" : " map"} block claims ${count} entries with ${left} bytes left`,
          );
        }
        for (let i = 0; i < count; i++) {
          if (name === "map") skip({ typeName: "string" }, buf, c, minSizes);
          skip(item, buf, c, minSizes);
        }
      }
    }
    default: {
      if (name.startsWith("union")) {
        const index = readLong(buf, c);
        const branch = type.types?.[index];
        if (!branch) throw new AvroBoundsError(`union branch ${index} does not exist (byte ${c.pos})`);
        skip(branch, buf, c, minSizes);
        return;
      }
      throw new Error(`avroBoundsError: unexpected Avro type ${name}`);
    }
  }
}

/** Fewest bytes a value of `type` can encode to (0 for null and records of nulls). */
function minSize(type: AvscType, memo: Map<AvscType, number>): number {
  const known = memo.get(type);
  if (known !== undefined) return known;
  memo.set(type, 0); // a recursive record counts as empty while it is being sized
  let size: number;
  if (type.underlyingType) size = minSize(type.underlyingType, memo);
  else if (type.typeName === "null") size = 0;
  else if (type.typeName === "float") size = 4;
  else if (type.typeName === "double") size = 8;
  else if (type.typeName === "fixed") size = type.size ?? 0;
  else if (type.typeName === "record")
    size = (type.fields ?? []).reduce((sum, f) => sum + minSize(f.type, memo), 0);
  else size = 1; // boolean, varints, lengths, a union's branch index, a collection's end marker
  memo.set(type, size);
  return size;
}

/** A zig-zag varint as a JS number (precision beyond 2^53 does not matter for bounds). */
function readLong(buf: Buffer, c: { pos: number }): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= buf.length) throw new AvroBoundsError(`a varint runs past the end (byte ${c.pos})`);
    const b = buf[c.pos++]!;
    n += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }
  throw new AvroBoundsError(`a varint is longer than 10 bytes (byte ${c.pos})`);
}
