/**
 * A GGUF v3 writer: header (magic, version, tensor and KV counts), typed KVs, tensor infos, then the
 * tensor data, each tensor aligned. Tensor bytes are streamed from a callback so multi-GB files
 * never sit in memory. Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 */
import { closeSync, openSync, writeSync } from "node:fs";

/** GGUF metadata value types. */
const KV = {
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
} as const;

/** ggml tensor types this writer produces. */
export const GGML_TYPE = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type GgmlTypeName = keyof typeof GGML_TYPE;

/** Q8_0: blocks of 32 values, an f16 scale then 32 int8s. */
export const Q8_0_BLOCK = 32;
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

export const GGUF_ALIGNMENT = 32;

export type KvValue =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: readonly string[] }
  | { type: "f32[]"; value: Float32Array | readonly number[] }
  | { type: "i32[]"; value: Int32Array | readonly number[] };

export interface TensorSpec {
  name: string;
  /** Dimensions ne0 first (ne0 is the contiguous one). */
  dims: readonly number[];
  type: GgmlTypeName;
  /** Fills `out` with the tensor's bytes from byte `offset` of the tensor; `out.length` bytes. */
  fill(out: Buffer, offset: number): void;
}

/** Bytes a tensor of `elements` values takes in `type`. */
export function tensorBytes(type: GgmlTypeName, elements: number): number {
  switch (type) {
    case "F32":
      return elements * 4;
    case "F16":
      return elements * 2;
    case "Q8_0":
      if (elements % Q8_0_BLOCK !== 0) throw new Error(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values`);
      return (elements / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
  }
}

class ByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  push(buf: Buffer): void {
    this.chunks.push(buf);
    this.length += buf.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  string(s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.push(bytes);
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

function writeKv(sink: ByteSink, key: string, kv: KvValue): void {
  sink.string(key);
  const numbers = (
    type: number,
    values: ArrayLike<number>,
    write: (b: Buffer, v: number, at: number) => void,
  ) => {
    sink.u32(KV.ARRAY);
    sink.u32(type);
    sink.u64(values.length);
    const b = Buffer.alloc(values.length * 4);
    for (let i = 0; i < values.length; i++) write(b, values[i]!, i * 4);
    sink.push(b);
  };
  switch (kv.type) {
    case "u32":
      sink.u32(KV.UINT32);
      sink.u32(kv.value);
      return;
    case "i32": {
      sink.u32(KV.INT32);
      const b = Buffer.alloc(4);
      b.writeInt32LE(kv.value);
      sink.push(b);
      return;
    }
    case "f32": {
      sink.u32(KV.FLOAT32);
      const b = Buffer.alloc(4);
      b.writeFloatLE(kv.value);
      sink.push(b);
      return;
    }
    case "bool":
      sink.u32(KV.BOOL);
      sink.push(Buffer.from([kv.value ? 1 : 0]));
      return;
    case "string":
      sink.u32(KV.STRING);
      sink.string(kv.value);
      return;
    case "string[]":
      sink.u32(KV.ARRAY);
      sink.u32(KV.STRING);
      sink.u64(kv.value.length);
      for (const s of kv.value) sink.string(s);
      return;
    case "f32[]":
      numbers(KV.FLOAT32, kv.value, (b, v, at) => b.writeFloatLE(v, at));
      return;
    case "i32[]":
      numbers(KV.INT32, kv.value, (b, v, at) => b.writeInt32LE(v, at));
      return;
  }
}

const padTo = (n: number, align: number) => (align - (n % align)) % align;

/** Bytes per write of tensor data; large enough to keep multi-GB writes fast. */
const CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * Writes a GGUF v3 file: `kvs` in order (`general.alignment` is added when absent), then the
 * tensors in order. Returns the file size in bytes.
 */
export function writeGguf(
  path: string,
  kvs: ReadonlyMap<string, KvValue>,
  tensors: readonly TensorSpec[],
): number {
  const header = new ByteSink();
  header.push(Buffer.from("GGUF", "ascii"));
  header.u32(3);
  header.u64(tensors.length);
  const allKvs = new Map(kvs);
  if (!allKvs.has("general.alignment"))
    allKvs.set("general.alignment", { type: "u32", value: GGUF_ALIGNMENT });
  header.u64(allKvs.size);
  for (const [key, kv] of allKvs) writeKv(header, key, kv);
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const elements = t.dims.reduce((a, b) => a * b, 1);
    const bytes = tensorBytes(t.type, elements);
    header.string(t.name);
    header.u32(t.dims.length);
    for (const d of t.dims) header.u64(d);
    header.u32(GGML_TYPE[t.type]);
    header.u64(offset);
    sizes.push(bytes);
    offset += bytes + padTo(bytes, GGUF_ALIGNMENT);
  }
  header.push(Buffer.alloc(padTo(header.length, GGUF_ALIGNMENT)));
  const fd = openSync(path, "w");
  let total = 0;
  try {
    const head = header.toBuffer();
    writeSync(fd, head);
    total += head.length;
    const chunk = Buffer.alloc(CHUNK_BYTES);
    tensors.forEach((t, i) => {
      const bytes = sizes[i]!;
      for (let at = 0; at < bytes; at += CHUNK_BYTES) {
        const n = Math.min(CHUNK_BYTES, bytes - at);
        const view = chunk.subarray(0, n);
        t.fill(view, at);
        writeSync(fd, view);
      }
      const pad = padTo(bytes, GGUF_ALIGNMENT);
      if (pad > 0) writeSync(fd, Buffer.alloc(pad));
      total += bytes + pad;
    });
  } finally {
    closeSync(fd);
  }
  return total;
}

/** IEEE 754 half-precision bits of `value` (round to nearest, overflow to infinity). */
export function toHalfBits(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127 + 15;
  let mant = bits & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant = (mant | 0x800000) >> (1 - exp);
    return sign + ((mant + 0x1000) >> 13);
  }
  // Rounding may carry into the exponent, which is the right result (up to infinity).
  return sign + Math.min(0x7c00, (exp << 10) + ((mant + 0x1000) >> 13));
}
