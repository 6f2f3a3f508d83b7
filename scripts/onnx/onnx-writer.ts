/**
 * A minimal ONNX writer: the protobuf wire format for ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto (raw_data) and ValueInfoProto, enough for small float models that
 * onnxruntime loads. No dependency: protobuf is varints, fixed-width numbers and length-prefixed
 * bytes. Field numbers are those of onnx/onnx.proto (IR version 8, default-domain opset 13).
 */

/** TensorProto.DataType values this writer uses. */
export const ONNX_TYPE = { FLOAT: 1, INT64: 7 } as const;

/** AttributeProto.AttributeType values. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;

/** A dimension of a declared shape: a fixed size, or a symbolic name such as "batch". */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  /** Element type, ONNX_TYPE.FLOAT by default. */
  elemType?: number;
  dims: readonly OnnxDim[];
}

export type OnnxAttribute =
  | { name: string; int: number }
  | { name: string; ints: readonly number[] }
  | { name: string; float: number }
  | { name: string; floats: readonly number[] }
  | { name: string; string: string };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: readonly OnnxAttribute[];
}

export type OnnxInitializer =
  | { name: string; dims: readonly number[]; floats: Float32Array }
  | { name: string; dims: readonly number[]; int64s: readonly number[] };

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxInitializer[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

/** Appends protobuf fields to a growing list of chunks. */
class Message {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  private varint(value: bigint): void {
    const out: number[] = [];
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  int(field: number, value: number): this {
    this.tag(field, 0);
    this.varint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, "utf8"));
  }

  message(field: number, value: Message): this {
    return this.bytes(field, value.toBytes());
  }

  /** A packed repeated varint field. */
  packedInts(field: number, values: readonly number[]): this {
    const inner = new Message();
    for (const v of values) inner.varint(BigInt(v));
    return this.bytes(field, inner.toBytes());
  }

  packedFloats(field: number, values: readonly number[]): this {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => {
      b.writeFloatLE(v, i * 4);
    });
    return this.bytes(field, b);
  }

  toBytes(): Uint8Array {
    return Buffer.concat(this.chunks, this.size);
  }
}

function attribute(a: OnnxAttribute): Message {
  const m = new Message().string(1, a.name);
  if ("int" in a) return m.int(20, ATTR.INT).int(3, a.int);
  if ("ints" in a) return m.int(20, ATTR.INTS).packedInts(8, a.ints);
  if ("float" in a) return m.int(20, ATTR.FLOAT).float(2, a.float);
  if ("floats" in a) return m.int(20, ATTR.FLOATS).packedFloats(7, a.floats);
  return m.int(20, ATTR.STRING).string(4, a.string);
}

function node(n: OnnxNode, index: number): Message {
  const m = new Message();
  for (const input of n.inputs) m.string(1, input);
  for (const output of n.outputs) m.string(2, output);
  m.string(3, n.name ?? `${n.opType.toLowerCase()}_${index}`).string(4, n.opType);
  for (const a of n.attributes ?? []) m.message(5, attribute(a));
  return m;
}

function tensor(t: OnnxInitializer): Message {
  const m = new Message().packedInts(1, t.dims);
  if ("floats" in t) {
    const expected = t.dims.reduce((a, b) => a * b, 1);
    if (t.floats.length !== expected) {
      throw new RangeError(`initializer ${t.name}: ${t.floats.length} values for dims [${t.dims}]`);
    }
    const raw = new Uint8Array(t.floats.buffer, t.floats.byteOffset, t.floats.byteLength);
    return m.int(2, ONNX_TYPE.FLOAT).string(8, t.name).bytes(9, raw);
  }
  const raw = Buffer.alloc(t.int64s.length * 8);
  t.int64s.forEach((v, i) => {
    raw.writeBigInt64LE(BigInt(v), i * 8);
  });
  return m.int(2, ONNX_TYPE.INT64).string(8, t.name).bytes(9, raw);
}

function valueInfo(v: OnnxValueInfo): Message {
  const shape = new Message();
  for (const d of v.dims) {
    shape.message(1, typeof d === "number" ? new Message().int(1, d) : new Message().string(2, d));
  }
  const tensorType = new Message().int(1, v.elemType ?? ONNX_TYPE.FLOAT).message(2, shape);
  return new Message().string(1, v.name).message(2, new Message().message(1, tensorType));
}

/** Serialises a model: IR 8, default-domain opset 13, producer "spikemesh". */
export function encodeOnnxModel(graph: OnnxGraph): Uint8Array {
  const g = new Message();
  graph.nodes.forEach((n, i) => {
    g.message(1, node(n, i));
  });
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, tensor(t));
  for (const v of graph.inputs) g.message(11, valueInfo(v));
  for (const v of graph.outputs) g.message(12, valueInfo(v));
  return new Message()
    .int(1, ONNX_IR_VERSION)
    .string(2, "spikemesh")
    .string(3, "0.1.0")
    .message(7, g)
    .message(8, new Message().string(1, "").int(2, ONNX_OPSET))
    .toBytes();
}
