import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/** A graph input or output as the model file declares it. */
export interface OnnxTensorInfo {
  name: string;
  /** TensorProto.DataType (1 = float32); 0 when the file does not say. */
  elemType: number;
  /** Fixed sizes as numbers, symbolic ones ("batch") as strings, unknown ones as null; null rank when undeclared. */
  dims: (number | string | null)[] | null;
}

export interface OnnxModelInfo {
  bytes: number;
  irVersion: number;
  /** Graph inputs that are not initializers (older exporters list weights as inputs too). */
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
  nodes: number;
}

/** The file is not a readable, complete ONNX model; `message` says why (no path: the caller adds it). */
export class OnnxFileError extends Error {
  override readonly name = "OnnxFileError";
}

const WINDOW_BYTES = 64 * 1024;

/** Positional reads through a small window: a model's weights are skipped, never read. */
class FileBytes {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  byte(pos: number): number {
    if (pos < this.windowStart || pos >= this.windowStart + this.window.length) {
      const length = Math.min(WINDOW_BYTES, this.size - pos);
      this.window = Buffer.alloc(length);
      readSync(this.fd, this.window, 0, length, pos);
      this.windowStart = pos;
    }
    return this.window[pos - this.windowStart]!;
  }

  slice(pos: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    readSync(this.fd, out, 0, length, pos);
    return out;
  }
}

type Field = { field: number; wire: number; value: number; start: number; end: number };

/** Reads a varint at `pos` (below `end`); returns the value (exact up to 2^53) and the next position. */
function varint(bytes: FileBytes, pos: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new OnnxFileError(`truncated: a number at byte ${pos} runs past byte ${end}`);
    const b = bytes.byte(pos++);
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, pos];
  }
  throw new OnnxFileError(`not protobuf: a number at byte ${pos - 10} is longer than 10 bytes`);
}

/** Every field of the message in [start, end): scalars in `value`, length-delimited ones as [start, end). */
function* fields(bytes: FileBytes, start: number, end: number): Generator<Field> {
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = varint(bytes, pos, end);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new OnnxFileError(`not protobuf: field number 0 at byte ${pos}`);
    pos = afterTag;
    if (wire === 0) {
      const [value, next] = varint(bytes, pos, end);
      yield { field, wire, value, start: pos, end: next };
      pos = next;
    } else if (wire === 1 || wire === 5) {
      const width = wire === 1 ? 8 : 4;
      if (pos + width > end)
        throw new OnnxFileError(`truncated: field ${field} at byte ${pos} runs past byte ${end}`);
      yield { field, wire, value: 0, start: pos, end: pos + width };
      pos += width;
    } else if (wire === 2) {
      const [length, next] = varint(bytes, pos, end);
      if (next + length > end) {
        throw new OnnxFileError(
          `truncated: field ${field} at byte ${next} claims ${length} bytes but its message ends at byte ${end}`,
        );
      }
      yield { field, wire, value: length, start: next, end: next + length };
      pos = next + length;
    } else {
      throw new OnnxFileError(`not protobuf: wire type ${wire} of field ${field} at byte ${pos}`);
    }
  }
}

const text = (bytes: FileBytes, f: Field) => bytes.slice(f.start, f.end - f.start).toString("utf8");

/** ValueInfoProto { name = 1, type = 2 { tensor_type = 1 { elem_type = 1, shape = 2 { dim = 1 } } } }. */
function valueInfo(bytes: FileBytes, at: Field): OnnxTensorInfo {
  const info: OnnxTensorInfo = { name: "", elemType: 0, dims: null };
  for (const f of fields(bytes, at.start, at.end)) {
    if (f.field === 1 && f.wire === 2) info.name = text(bytes, f);
    if (f.field !== 2 || f.wire !== 2) continue;
    for (const t of fields(bytes, f.start, f.end)) {
      if (t.field !== 1 || t.wire !== 2) continue;
      for (const tt of fields(bytes, t.start, t.end)) {
        if (tt.field === 1 && tt.wire === 0) info.elemType = tt.value;
        if (tt.field !== 2 || tt.wire !== 2) continue;
        info.dims = [];
        for (const d of fields(bytes, tt.start, tt.end)) {
          if (d.field !== 1 || d.wire !== 2) continue;
          let dim: number | string | null = null;
          for (const v of fields(bytes, d.start, d.end)) {
            if (v.field === 1 && v.wire === 0) dim = v.value;
            if (v.field === 2 && v.wire === 2) dim = text(bytes, v);
          }
          info.dims.push(dim);
        }
      }
    }
  }
  return info;
}

/** TensorProto.name (field 8), read without touching the tensor's data. */
function initializerName(bytes: FileBytes, at: Field): string {
  for (const f of fields(bytes, at.start, at.end)) if (f.field === 8 && f.wire === 2) return text(bytes, f);
  return "";
}

/**
 * Reads an ONNX model file's structure without loading its weights: checks that the whole file is
 * well-formed protobuf (a cut or damaged file fails here, naming the byte) with an IR version, an
 * opset and a graph, and returns the graph's declared inputs and outputs. Synchronous, so it can run
 * while the configuration is validated, before anything connects. Throws OnnxFileError, or the
 * fs error when the file cannot be opened.
 */
export function readOnnxModelInfo(path: string): OnnxModelInfo {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new OnnxFileError("the file is empty");
    const bytes = new FileBytes(fd, size);
    let irVersion = 0;
    let hasOpset = false;
    let graph: Field | undefined;
    for (const f of fields(bytes, 0, size)) {
      if (f.field === 1 && f.wire === 0) irVersion = f.value;
      else if (f.field === 7 && f.wire === 2) graph = f;
      else if (f.field === 8 && f.wire === 2) hasOpset = true;
    }
    if (irVersion === 0) throw new OnnxFileError("no ir_version: not an ONNX model");
    if (!graph) throw new OnnxFileError("no graph: not an ONNX model, or cut short");
    if (!hasOpset) throw new OnnxFileError("no opset_import: not an ONNX model, or cut short");
    const declared: OnnxTensorInfo[] = [];
    const outputs: OnnxTensorInfo[] = [];
    const initializers = new Set<string>();
    let nodes = 0;
    for (const f of fields(bytes, graph.start, graph.end)) {
      if (f.wire !== 2) continue;
      if (f.field === 1) nodes++;
      else if (f.field === 5) initializers.add(initializerName(bytes, f));
      else if (f.field === 11) declared.push(valueInfo(bytes, f));
      else if (f.field === 12) outputs.push(valueInfo(bytes, f));
    }
    if (nodes === 0) throw new OnnxFileError("the graph has no nodes");
    const inputs = declared.filter((i) => !initializers.has(i.name));
    if (inputs.length === 0 || outputs.length === 0) {
      throw new OnnxFileError("the graph declares no inputs or no outputs");
    }
    return { bytes: size, irVersion, inputs, outputs, nodes };
  } finally {
    closeSync(fd);
  }
}

/** "[batch, 3, 224, 224]" */
export function formatDims(dims: readonly (number | string | null)[] | null): string {
  return dims === null ? "[unknown rank]" : `[${dims.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}

/** True when a tensor of `shape` fits `declared` (symbolic and unknown dimensions fit any size). */
export function fitsDims(
  declared: readonly (number | string | null)[] | null,
  shape: readonly number[],
): boolean {
  if (declared === null) return true;
  if (declared.length !== shape.length) return false;
  return declared.every((d, i) => typeof d !== "number" || d <= 0 || d === shape[i]);
}
