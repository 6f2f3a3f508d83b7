import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaEngine } from "../../processors/escalation-tier/index.js";
import { toHalfBits } from "../../scripts/gguf/gguf-writer.js";
import { byteVocabulary, LLAMA_SHAPES, writeLlamaGguf } from "../../scripts/gguf/llama-gguf.js";
import { tempDir } from "./helpers/temp-dir.js";

let dir: { dir: string; remove(): Promise<void> };
beforeAll(async () => {
  dir = await tempDir("spikemesh-gguf-");
});
afterAll(async () => {
  await dir.remove();
});

describe("GGUF writer", () => {
  it("encodes half floats, rounding to nearest", () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(0.1)).toBe(0x2e66);
    expect(toHalfBits(65_520)).toBe(0x7c00);
    expect(toHalfBits(1e-8)).toBe(0);
  });

  it("writes a llama model whose metadata and tensors read back", async () => {
    const path = join(dir.dir, "tiny.gguf");
    writeLlamaGguf(path, { shape: "tiny", type: "F16", seed: 3 });
    const info = await readGgufFileInfo(path);
    expect(info.version).toBe(3);
    expect(info.metadata.general.architecture).toBe("llama");
    const llama = info.metadata.llama as unknown as Record<string, unknown>;
    expect(llama.embedding_length).toBe(LLAMA_SHAPES.tiny.embedding);
    expect(llama.block_count).toBe(2);
    expect(info.metadata.tokenizer.ggml.tokens).toEqual(byteVocabulary(0).tokens);
    expect(info.tensorInfo).toHaveLength(3 + 9 * LLAMA_SHAPES.tiny.blocks);
    expect(info.tensorInfo?.find((t) => t.name === "blk.1.attn_k.weight")?.dimensions).toEqual([64, 32]);
  });

  it("f16 and q8_0 models load and generate through llama.cpp", async () => {
    for (const type of ["F16", "Q8_0"] as const) {
      const path = join(dir.dir, `tiny-${type}.gguf`);
      writeLlamaGguf(path, { shape: "tiny", type, seed: 2 });
      const engine = await LlamaEngine.acquire({
        modelPath: path,
        gpu: false,
        gpuLayers: 0,
        maxThreads: 1,
        contextSize: 512,
        sequences: 1,
        flashAttention: false,
      });
      try {
        const out = await engine.generate({
          messages: [{ role: "user", content: "hi" }],
          maxTokens: 8,
          temperature: 0,
          signal: new AbortController().signal,
        });
        expect(out.completionTokens).toBeGreaterThan(0);
      } finally {
        await engine.release();
      }
    }
  });
});
