import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EscalationTierOptions,
  type EscalationTierOutputs,
  escalationTierSpec,
  LlamaBackend,
  type LlamaBackendOptions,
  LlamaEngine,
  llamaBackendOptionsSchema,
  MODEL_VERDICTS,
} from "../../processors/escalation-tier/index.js";
import type { ReasoningRequest } from "../../schemas/index.js";
import { ManualClock, ProcessorTestDriver } from "../../streams/index.js";
import { reasoningRequest } from "../helpers/reasoning-request.js";
import { tinyModelPath } from "../helpers/tiny-model.js";
import { tempDir } from "./helpers/temp-dir.js";

const ACTIONS = ["notify", "throttle-source", "open-ticket"];

function options(overrides: Record<string, unknown> = {}): LlamaBackendOptions {
  return llamaBackendOptionsSchema.parse({
    kind: "llama",
    modelPath: tinyModelPath(),
    model: "tiny",
    maxThreads: 1,
    sequences: 2,
    contextSize: 4096,
    ...overrides,
  });
}

const never = new AbortController().signal;

describe("llama backend on the generated tiny model", () => {
  let backend: LlamaBackend;
  beforeAll(async () => {
    backend = new LlamaBackend(options(), "phi2");
    await backend.open(never);
  });
  afterAll(async () => {
    await backend.close();
  });

  it("answers every request with a verdict record that parses and validates", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      // Temperatures above 0 with different seeds: random weights then wander over the grammar.
      const sampled = new LlamaBackend(options({ temperature: 0.9, seed: i }), "phi2");
      await sampled.open(never);
      try {
        const answer = await sampled.answer(reasoningRequest({ id: `req-${i}` }), never);
        expect(MODEL_VERDICTS).toContain(answer.verdict);
        expect(answer.confidence).toBeGreaterThanOrEqual(0);
        expect(answer.confidence).toBeLessThanOrEqual(1);
        expect(answer.action === null || ACTIONS.includes(answer.action)).toBe(true);
        expect([...answer.summary].length).toBeLessThanOrEqual(120);
        expect(answer.tokens).toBeGreaterThan(10);
        expect(typeof answer.handUp).toBe("boolean");
        seen.add(answer.verdict);
      } finally {
        await sampled.close();
      }
    }
    // Sampling explores the enum rather than repeating one answer.
    expect(seen.size).toBeGreaterThan(1);
  });

  it("shares one loaded model between backends with the same options", async () => {
    const a = await LlamaEngine.acquire({ ...engineOptions(), sequences: 3 });
    const b = await LlamaEngine.acquire({ ...engineOptions(), sequences: 3 });
    try {
      expect(a).toBe(b);
      expect(a.parallelism).toBe(3);
    } finally {
      await a.release();
      await b.release();
    }
  });

  it("answers more concurrent requests than sequences, each exactly once", async () => {
    const requests = Array.from({ length: 5 }, (_, i) => reasoningRequest({ id: `c-${i}` }));
    const answers = await Promise.all(requests.map((r) => backend.answer(r, never)));
    expect(answers).toHaveLength(5);
    for (const a of answers) expect(MODEL_VERDICTS).toContain(a.verdict);
  });

  it("stops at the deadline signal and keeps working afterwards", async () => {
    const started = performance.now();
    await expect(backend.answer(reasoningRequest(), AbortSignal.timeout(5))).rejects.toMatchObject({
      name: expect.stringMatching(/AbortError|TimeoutError/),
    });
    expect(performance.now() - started).toBeLessThan(2_000);
    await expect(backend.answer(reasoningRequest(), never)).resolves.toMatchObject({
      verdict: expect.any(String),
    });
  });

  it("runs as a tier worker: one validated result per request, with tokens and metrics", async () => {
    const driver = new ProcessorTestDriver<ReasoningRequest, EscalationTierOutputs, EscalationTierOptions>(
      escalationTierSpec,
      { tier: "phi2", backend: { ...options(), maxThreads: 1 } },
      { clock: new ManualClock(10_000) },
    );
    try {
      for (let i = 0; i < 3; i++) {
        const value = reasoningRequest({ id: `w-${i}` });
        await driver.pipe({ key: value.source, value, timestampMs: value.ts });
      }
      const results = driver.read("results").map((r) => r.value);
      expect(results.map((r) => r.id)).toEqual(["w-0", "w-1", "w-2"]);
      for (const r of results) {
        expect(r).toMatchObject({ tier: "phi2", model: "tiny", error: null });
        expect(r.tokens).toBeGreaterThan(0);
      }
      const metric = await driver.metrics.getSingleMetric("spikemesh_escalation_tier_tokens_total")?.get();
      expect(metric?.values[0]?.value).toBeGreaterThan(0);
    } finally {
      await driver.close();
    }
  });

  it("fails at maxTokens with a retriable error rather than a half record", async () => {
    const short = new LlamaBackend(options({ maxTokens: 8 }), "phi2");
    await short.open(never);
    try {
      await expect(short.answer(reasoningRequest(), never)).rejects.toMatchObject({
        code: "RECORD_INVALID",
        retriable: true,
        message: expect.stringMatching(/maxTokens/),
      });
    } finally {
      await short.close();
    }
  });
});

function engineOptions() {
  const o = options();
  return {
    modelPath: o.modelPath,
    gpu: false as const,
    gpuLayers: 0,
    maxThreads: 1,
    contextSize: 1024,
    sequences: 1,
    flashAttention: false,
  };
}

describe("model files that cannot be loaded", () => {
  let dir: { dir: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await tempDir("spikemesh-model-");
  });
  afterAll(async () => {
    await dir.remove();
  });

  const openWith = async (modelPath: string) => {
    const backend = new LlamaBackend(options({ modelPath }), "phi2");
    try {
      await backend.open(never);
    } finally {
      await backend.close();
    }
  };

  it("names a missing file", async () => {
    await expect(openWith(join(dir.dir, "nope.gguf"))).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(/backend\.modelPath: cannot read model file .*nope\.gguf/),
    });
  });

  it("says a file that is not GGUF is not a model", async () => {
    const path = join(dir.dir, "notes.gguf");
    writeFileSync(path, "this is a text file, not weights\n");
    await expect(openWith(path)).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(/not a GGUF model file .*expected "GGUF"/),
    });
    const garbage = join(dir.dir, "garbage.gguf");
    writeFileSync(garbage, "GGUF but nothing after it, not even a version");
    await expect(openWith(garbage)).rejects.toMatchObject({
      message: expect.stringMatching(/has GGUF version \d+; llama\.cpp reads versions 2 and 3/),
    });
  });

  it("gives llama.cpp's reason for a truncated or corrupted file, without crashing", async () => {
    const whole = readFileSync(tinyModelPath());
    const truncated = join(dir.dir, "truncated.gguf");
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.6)));
    await expect(openWith(truncated)).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(
        /llama\.cpp could not load .*truncated\.gguf: .+ \(is the file truncated or corrupt/,
      ),
    });
    const headerOnly = join(dir.dir, "header-only.gguf");
    writeFileSync(headerOnly, whole.subarray(0, 64));
    await expect(openWith(headerOnly)).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    const scrambled = join(dir.dir, "scrambled.gguf");
    copyFileSync(tinyModelPath(), scrambled);
    const bytes = readFileSync(scrambled);
    bytes.fill(0xff, 16, 48); // tensor and KV counts become absurd
    writeFileSync(scrambled, bytes);
    await expect(openWith(scrambled)).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    // The process is still fine: the good model loads and answers.
    const good = new LlamaBackend(options(), "phi2");
    await good.open(never);
    await expect(good.answer(reasoningRequest(), never)).resolves.toMatchObject({
      verdict: expect.any(String),
    });
    await good.close();
  });
});
