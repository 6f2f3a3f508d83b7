/**
 * Llama-architecture GGUF models with random weights and a byte-level SentencePiece vocabulary:
 * `<unk> <s> </s>`, the 256 `<0xNN>` byte tokens, `▁` and printable ASCII, padded with unused
 * tokens up to the shape's vocabulary size. They load and generate through llama.cpp like a real
 * model of that shape (same tensor sizes, same work per token), so they serve tests (tiny) and speed
 * benchmarks (phi2, llama8b); their text is noise.
 */
import {
  GGUF_ALIGNMENT,
  type GgmlTypeName,
  type KvValue,
  Q8_0_BLOCK,
  type TensorSpec,
  toHalfBits,
  writeGguf,
} from "./gguf-writer.js";

export interface LlamaShape {
  /** Width of the residual stream. */
  embedding: number;
  blocks: number;
  feedForward: number;
  heads: number;
  kvHeads: number;
  contextLength: number;
  /** Vocabulary size; at least the byte vocabulary (354 tokens). */
  vocab: number;
  ropeFreqBase: number;
}

/**
 * Shapes: a tiny one for tests, and for speed benchmarks Phi-2's (2.8B parameters as a llama
 * model; Phi-2's partial rotary embedding and parallel blocks are not reproduced) and Llama-3-8B's.
 */
export const LLAMA_SHAPES = {
  tiny: {
    embedding: 64,
    blocks: 2,
    feedForward: 128,
    heads: 4,
    kvHeads: 2,
    contextLength: 4096,
    vocab: 0,
    ropeFreqBase: 10_000,
  },
  phi2: {
    embedding: 2560,
    blocks: 32,
    // Phi-2's MLP has two 2560×10240 matrices; llama's gated one has three, so 6912 keeps the
    // parameter count (2.8B against Phi-2's 2.78B) and the work per token.
    feedForward: 6912,
    heads: 32,
    kvHeads: 32,
    contextLength: 2048,
    vocab: 51_200,
    ropeFreqBase: 10_000,
  },
  llama8b: {
    embedding: 4096,
    blocks: 32,
    feedForward: 14_336,
    heads: 32,
    kvHeads: 8,
    contextLength: 8192,
    vocab: 128_256,
    ropeFreqBase: 500_000,
  },
} as const satisfies Record<string, LlamaShape>;

export type LlamaShapeName = keyof typeof LLAMA_SHAPES;

export interface LlamaGgufOptions {
  shape: LlamaShapeName | LlamaShape;
  /** Type of the 2-D tensors; 1-D norms are always F32. Default F32. */
  type?: GgmlTypeName;
  /** Seed of the weights. Default 1. */
  seed?: number;
  /** `general.name`. Default `spikemesh-<shape>`. */
  name?: string;
}

/** SentencePiece token types as llama.cpp reads them. */
const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, UNUSED: 5, BYTE: 6 } as const;

/** The byte-level vocabulary, padded with unused tokens to `size`. */
export function byteVocabulary(size: number): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TOKEN_TYPE.BYTE);
  }
  tokens.push("▁");
  types.push(TOKEN_TYPE.NORMAL);
  for (let c = 0x21; c <= 0x7e; c++) {
    tokens.push(String.fromCharCode(c));
    types.push(TOKEN_TYPE.NORMAL);
  }
  for (let i = tokens.length; i < size; i++) {
    tokens.push(`<unused${i}>`);
    types.push(TOKEN_TYPE.UNUSED);
  }
  const scores = tokens.map((_, i) => -i);
  return { tokens, scores, types };
}

/** Deterministic 32-bit generator (mulberry32). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard deviation of the random weights (as in GPT-2-style initialisation). */
const WEIGHT_STD = 0.02;
/** Bytes of random weights generated once per type and tiled over every tensor. */
const PATTERN_VALUES = 1 << 18;

/**
 * One pattern of random weights per type, tiled over every tensor from a per-tensor starting
 * block: generating multi-GB files stays I/O-bound, and tensors still differ from each other.
 */
function weightPattern(type: GgmlTypeName, seed: number): Buffer {
  const next = mulberry32(seed);
  const uniform = () => (next() * 2 - 1) * WEIGHT_STD * Math.sqrt(3);
  switch (type) {
    case "F32": {
      const b = Buffer.alloc(PATTERN_VALUES * 4);
      for (let i = 0; i < PATTERN_VALUES; i++) b.writeFloatLE(uniform(), i * 4);
      return b;
    }
    case "F16": {
      const b = Buffer.alloc(PATTERN_VALUES * 2);
      for (let i = 0; i < PATTERN_VALUES; i++) b.writeUInt16LE(toHalfBits(uniform()), i * 2);
      return b;
    }
    case "Q8_0": {
      const blocks = PATTERN_VALUES / Q8_0_BLOCK;
      const b = Buffer.alloc(blocks * (2 + Q8_0_BLOCK));
      const scale = toHalfBits((WEIGHT_STD * Math.sqrt(3)) / 127);
      for (let k = 0; k < blocks; k++) {
        const at = k * (2 + Q8_0_BLOCK);
        b.writeUInt16LE(scale, at);
        for (let i = 0; i < Q8_0_BLOCK; i++) b.writeInt8(Math.round((next() * 2 - 1) * 127), at + 2 + i);
      }
      return b;
    }
  }
}

function tiledFill(pattern: Buffer, startBytes: number): (out: Buffer, offset: number) => void {
  return (out, offset) => {
    let written = 0;
    while (written < out.length) {
      const from = (startBytes + offset + written) % pattern.length;
      written += pattern.copy(out, written, from, Math.min(pattern.length, from + out.length - written));
    }
  };
}

function onesFill(out: Buffer, offset: number): void {
  // 1.0f is 0x3f800000; offsets are multiples of 4 because every chunk is.
  for (let i = 0; i < out.length; i += 4) out.writeUInt32LE(0x3f800000, i);
  void offset;
}

/** Writes a llama GGUF of `shape` with random weights; returns its size in bytes. */
export function writeLlamaGguf(path: string, options: LlamaGgufOptions): number {
  const shapeName = typeof options.shape === "string" ? options.shape : "custom";
  const base: LlamaShape = typeof options.shape === "string" ? LLAMA_SHAPES[options.shape] : options.shape;
  const type = options.type ?? "F32";
  const seed = options.seed ?? 1;
  const vocab = byteVocabulary(base.vocab);
  const shape = { ...base, vocab: vocab.tokens.length };
  const headDim = shape.embedding / shape.heads;
  if (!Number.isInteger(headDim)) throw new Error("embedding must be a multiple of heads");
  const kvWidth = headDim * shape.kvHeads;
  const kvs = new Map<string, KvValue>([
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: options.name ?? `spikemesh-${shapeName}` }],
    ["general.file_type", { type: "u32", value: type === "F32" ? 0 : type === "F16" ? 1 : 7 }],
    ["llama.context_length", { type: "u32", value: shape.contextLength }],
    ["llama.embedding_length", { type: "u32", value: shape.embedding }],
    ["llama.block_count", { type: "u32", value: shape.blocks }],
    ["llama.feed_forward_length", { type: "u32", value: shape.feedForward }],
    ["llama.attention.head_count", { type: "u32", value: shape.heads }],
    ["llama.attention.head_count_kv", { type: "u32", value: shape.kvHeads }],
    ["llama.rope.dimension_count", { type: "u32", value: headDim }],
    ["llama.rope.freq_base", { type: "f32", value: shape.ropeFreqBase }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 }],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "string[]", value: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: "f32[]", value: vocab.scores }],
    ["tokenizer.ggml.token_type", { type: "i32[]", value: vocab.types }],
    ["tokenizer.ggml.unknown_token_id", { type: "u32", value: 0 }],
    ["tokenizer.ggml.bos_token_id", { type: "u32", value: 1 }],
    ["tokenizer.ggml.eos_token_id", { type: "u32", value: 2 }],
    ["general.alignment", { type: "u32", value: GGUF_ALIGNMENT }],
  ]);
  const pattern = weightPattern(type, seed);
  const blockBytes = type === "Q8_0" ? 2 + Q8_0_BLOCK : type === "F16" ? 2 : 4;
  let salt = 0;
  const matrix = (name: string, dims: [number, number]): TensorSpec => {
    // A different starting block per tensor (a multiple of the block size keeps Q8_0 blocks whole).
    salt = (salt + 7919) % (pattern.length / blockBytes);
    return { name, dims, type, fill: tiledFill(pattern, salt * blockBytes) };
  };
  const norm = (name: string): TensorSpec => ({ name, dims: [shape.embedding], type: "F32", fill: onesFill });
  const tensors: TensorSpec[] = [matrix("token_embd.weight", [shape.embedding, shape.vocab])];
  for (let b = 0; b < shape.blocks; b++) {
    const p = `blk.${b}.`;
    tensors.push(
      norm(`${p}attn_norm.weight`),
      matrix(`${p}attn_q.weight`, [shape.embedding, shape.embedding]),
      matrix(`${p}attn_k.weight`, [shape.embedding, kvWidth]),
      matrix(`${p}attn_v.weight`, [shape.embedding, kvWidth]),
      matrix(`${p}attn_output.weight`, [shape.embedding, shape.embedding]),
      norm(`${p}ffn_norm.weight`),
      matrix(`${p}ffn_gate.weight`, [shape.embedding, shape.feedForward]),
      matrix(`${p}ffn_up.weight`, [shape.embedding, shape.feedForward]),
      matrix(`${p}ffn_down.weight`, [shape.feedForward, shape.embedding]),
    );
  }
  tensors.push(norm("output_norm.weight"), matrix("output.weight", [shape.embedding, shape.vocab]));
  return writeGguf(path, kvs, tensors);
}
