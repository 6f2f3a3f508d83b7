/**
 * Tiny feature extractors with seeded random weights, written as ONNX by the project's own writer:
 * stand-ins of the right kind for an image encoder (a CLIP vision tower) and an audio encoder, small
 * enough for tests and benchmarks on a CPU. Random convolutions followed by a random projection keep
 * what matters here: the same input gives the same embedding, and a changed scene or sound moves it.
 */
import { writeFileSync } from "node:fs";
import { encodeOnnxModel, type OnnxGraph } from "./onnx-writer.js";

/** mulberry32: a small seeded generator, so the same seed writes the same bytes. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform weights in ±sqrt(3 / fanIn) (unit variance of the output for unit-variance input). */
function weights(count: number, fanIn: number, random: () => number): Float32Array {
  const bound = Math.sqrt(3 / fanIn);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (random() * 2 - 1) * bound;
  return out;
}

export interface ImageExtractorShape {
  /** Input height and width in pixels; both multiples of 4. */
  height: number;
  width: number;
  /** Convolution filters. Default 8. */
  filters?: number;
  /** Embedding size. Default 32. */
  embedding?: number;
  seed?: number;
}

/**
 * `pixels` [batch, 3, H, W] → Conv 3×3 stride 2 (`filters`) → Relu → MaxPool 2×2 → Flatten →
 * MatMul → `embedding` [batch, E].
 */
export function imageExtractorGraph(shape: ImageExtractorShape): OnnxGraph {
  const { height: h, width: w } = shape;
  if (h % 4 !== 0 || w % 4 !== 0)
    throw new RangeError("image extractor: height and width must be multiples of 4");
  const f = shape.filters ?? 8;
  const e = shape.embedding ?? 32;
  const random = seeded(shape.seed ?? 1);
  const flat = f * (h / 4) * (w / 4);
  return {
    name: "spikemesh-tiny-image-extractor",
    inputs: [{ name: "pixels", dims: ["batch", 3, h, w] }],
    outputs: [{ name: "embedding", dims: ["batch", e] }],
    initializers: [
      { name: "conv.w", dims: [f, 3, 3, 3], floats: weights(f * 27, 27, random) },
      { name: "conv.b", dims: [f], floats: weights(f, 27, random) },
      { name: "proj.w", dims: [flat, e], floats: weights(flat * e, flat, random) },
    ],
    nodes: [
      {
        opType: "Conv",
        inputs: ["pixels", "conv.w", "conv.b"],
        outputs: ["conv"],
        attributes: [
          { name: "kernel_shape", ints: [3, 3] },
          { name: "strides", ints: [2, 2] },
          { name: "pads", ints: [1, 1, 1, 1] },
        ],
      },
      { opType: "Relu", inputs: ["conv"], outputs: ["relu"] },
      {
        opType: "MaxPool",
        inputs: ["relu"],
        outputs: ["pool"],
        attributes: [
          { name: "kernel_shape", ints: [2, 2] },
          { name: "strides", ints: [2, 2] },
        ],
      },
      { opType: "Flatten", inputs: ["pool"], outputs: ["flat"], attributes: [{ name: "axis", int: 1 }] },
      { opType: "MatMul", inputs: ["flat", "proj.w"], outputs: ["embedding"] },
    ],
  };
}

export interface AudioExtractorShape {
  /** Samples per input window. */
  samples: number;
  /** Filters of the 1-D convolution. Default 16. */
  filters?: number;
  /** Kernel length and stride, samples. Defaults 64 and 32. */
  kernel?: number;
  stride?: number;
  seed?: number;
}

/**
 * `waveform` [batch, N] → Reshape [batch, 1, N] → Conv1d (`filters`, `kernel`, `stride`) → Relu →
 * GlobalAveragePool → Flatten → `embedding` [batch, filters]: the mean response of a bank of random
 * filters, a crude spectrum.
 */
export function audioExtractorGraph(shape: AudioExtractorShape): OnnxGraph {
  const n = shape.samples;
  const f = shape.filters ?? 16;
  const k = shape.kernel ?? 64;
  const s = shape.stride ?? 32;
  if (n < k) throw new RangeError(`audio extractor: ${n} samples is shorter than the kernel (${k})`);
  const random = seeded(shape.seed ?? 2);
  return {
    name: "spikemesh-tiny-audio-extractor",
    inputs: [{ name: "waveform", dims: ["batch", n] }],
    outputs: [{ name: "embedding", dims: ["batch", f] }],
    initializers: [
      { name: "reshape.shape", dims: [3], int64s: [-1, 1, n] },
      { name: "conv.w", dims: [f, 1, k], floats: weights(f * k, k, random) },
      { name: "conv.b", dims: [f], floats: new Float32Array(f) },
    ],
    nodes: [
      { opType: "Reshape", inputs: ["waveform", "reshape.shape"], outputs: ["wave3"] },
      {
        opType: "Conv",
        inputs: ["wave3", "conv.w", "conv.b"],
        outputs: ["conv"],
        attributes: [
          { name: "kernel_shape", ints: [k] },
          { name: "strides", ints: [s] },
        ],
      },
      { opType: "Relu", inputs: ["conv"], outputs: ["relu"] },
      { opType: "GlobalAveragePool", inputs: ["relu"], outputs: ["pool"] },
      { opType: "Flatten", inputs: ["pool"], outputs: ["embedding"], attributes: [{ name: "axis", int: 1 }] },
    ],
  };
}

/** Writes `graph` as an ONNX file; returns its size in bytes. */
export function writeOnnxModel(path: string, graph: OnnxGraph): number {
  const bytes = encodeOnnxModel(graph);
  writeFileSync(path, bytes);
  return bytes.length;
}
