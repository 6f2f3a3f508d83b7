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
 * (and the event loop) busy for hours. The walk is compiled once per type (a closure per schema
 * node, cached on the type), so the per-record cost is the bytes' varints and nothing else.
 */
export function avroBoundsError(type: avro.Type, bytes: Buffer, start = 0): AvroBoundsError | null {
  const skip = skipperOf(type as unknown as AvscType);
  at = start;
  try {
    skip(bytes);
    return null;
  } catch (err) {
    if (err instanceof AvroBoundsError) return err;
    throw err;
  }
}

/** Advances `at` past one value of its type in `buf`, or throws AvroBoundsError. */
type Skipper = (buf: Buffer) => void;

/**
 * The read position of the walk in progress. Module state rather than an argument so that a
 * skipper returns nothing and allocates nothing; walks are synchronous, so they never interleave.
 */
let at = 0;

const compiled = new WeakMap<AvscType, Skipper>();

function skipperOf(type: AvscType): Skipper {
  return compiled.get(type) ?? compile(type);
}

function need(buf: Buffer, n: number, what: string): void {
  if (at + n > buf.length) {
    throw new AvroBoundsError(`${what} needs ${n} bytes at byte ${at}, only ${buf.length - at} left`);
  }
  at += n;
}

const skipNothing: Skipper = () => undefined;
const skipVarint: Skipper = (buf) => {
  readLong(buf);
};
const skipBoolean: Skipper = (buf) => need(buf, 1, "a boolean");
const skipFloat: Skipper = (buf) => need(buf, 4, "a float");
const skipDouble: Skipper = (buf) => need(buf, 8, "a double");
const lengthPrefixed =
  (name: "bytes" | "string"): Skipper =>
  (buf) => {
    const length = readLong(buf);
    if (length < 0) throw new AvroBoundsError(`a ${name} has negative length ${length} at byte ${at}`);
    if (at + length > buf.length) need(buf, length, `a ${name} of ${length} bytes`);
    at += length;
  };
const skipString = lengthPrefixed("string");
const skipBytes = lengthPrefixed("bytes");

function compile(type: AvscType): Skipper {
  if (type.underlyingType) {
    const skip = skipperOf(type.underlyingType);
    compiled.set(type, skip);
    return skip;
  }
  const name = type.typeName;
  let skip: Skipper;
  switch (name) {
    case "null":
      skip = skipNothing;
      break;
    case "boolean":
      skip = skipBoolean;
      break;
    case "int":
    case "long":
    case "enum":
      skip = skipVarint;
      break;
    case "float":
      skip = skipFloat;
      break;
    case "double":
      skip = skipDouble;
      break;
    case "fixed": {
      const size = type.size ?? 0;
      skip = (buf) => need(buf, size, "a fixed");
      break;
    }
    case "bytes":
      skip = skipBytes;
      break;
    case "string":
      skip = skipString;
      break;
    case "record": {
      // Registered before its fields are compiled, so a recursive record refers to itself.
      const fields: Skipper[] = [];
      skip = (buf) => {
        for (let i = 0; i < fields.length; i++) fields[i]!(buf);
      };
      compiled.set(type, skip);
      for (const field of type.fields ?? []) fields.push(skipperOf(field.type));
      return skip;
    }
    case "array":
    case "map":
      skip = collectionSkipper(type, name);
      break;
    default: {
      if (!name.startsWith("union")) throw new Error(`avroBoundsError: unexpected Avro type ${name}`);
      const branches: Skipper[] = [];
      skip = (buf) => {
        const index = readLong(buf);
        const branch = branches[index];
        if (!branch) throw new AvroBoundsError(`union branch ${index} does not exist (byte ${at})`);
        branch(buf);
      };
      compiled.set(type, skip);
      for (const branch of type.types ?? []) branches.push(skipperOf(branch));
      return skip;
    }
  }
  compiled.set(type, skip);
  return skip;
}

function collectionSkipper(type: AvscType, name: "array" | "map"): Skipper {
  const itemType = (name === "array" ? type.itemsType : type.valuesType)!;
  const isMap = name === "map";
  const minItem = minSize(itemType, new Map()) + (isMap ? 1 : 0);
  let item: Skipper | undefined;
  return (buf) => {
    item ??= skipperOf(itemType); // lazily: the item type may be the record being compiled
    for (;;) {
      let count = readLong(buf);
      if (count === 0) return;
      if (count < 0) {
        count = -count;
        readLong(buf); // block size in bytes
      }
      const left = buf.length - at;
      if (minItem > 0 ? count * minItem > left : count > MAX_EMPTY_ITEMS) {
        throw new AvroBoundsError(
          `a${isMap ? " map" : "n array"} block claims ${count} entries with ${left} bytes left`,
        );
      }
      for (let i = 0; i < count; i++) {
        if (isMap) skipString(buf);
        item(buf);
      }
    }
  };
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

/** A zig-zag varint at `at` as a JS number (precision beyond 2^53 does not matter for bounds). */
function readLong(buf: Buffer): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= buf.length) throw new AvroBoundsError(`a varint runs past the end (byte ${at})`);
    const b = buf[at++]!;
    n += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }
  throw new AvroBoundsError(`a varint is longer than 10 bytes (byte ${at})`);
}
