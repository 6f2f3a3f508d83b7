import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenAiModelServer } from "../../cli/model-server/openai-server.js";
import {
  type EscalationTierOptions,
  type EscalationTierOutputs,
  escalationTierSpec,
  HttpBackend,
  httpBackendOptionsSchema,
  LlamaEngine,
  MODEL_VERDICTS,
} from "../../processors/escalation-tier/index.js";
import type { ReasoningRequest } from "../../schemas/index.js";
import { ManualClock, ProcessorTestDriver } from "../../streams/index.js";
import { silentLogger } from "../../streams/logger.js";
import { reasoningRequest } from "../helpers/reasoning-request.js";
import { tinyModelPath } from "../helpers/tiny-model.js";

/** The HTTP backend against serve-model's server on the generated tiny model: real HTTP, real inference. */
let engine: LlamaEngine;
let server: OpenAiModelServer;
let url: string;
const never = new AbortController().signal;

beforeAll(async () => {
  engine = await LlamaEngine.acquire({
    modelPath: tinyModelPath(),
    gpu: false,
    gpuLayers: 0,
    maxThreads: 1,
    contextSize: 4096,
    sequences: 2,
    flashAttention: false,
  });
  server = new OpenAiModelServer({
    engine,
    modelName: "tiny",
    metrics: new Registry(),
    log: silentLogger(),
  });
  url = await server.start();
});

afterAll(async () => {
  await server.close();
  await engine.release();
});

const backendAt = (baseUrl: string, over: Record<string, unknown> = {}) =>
  new HttpBackend(
    httpBackendOptionsSchema.parse({ kind: "http", baseUrl, model: "tiny", ...over }),
    "deepseek",
  );

describe("serve-model's OpenAI-compatible API", () => {
  it("lists its model and answers chat completions with usage", async () => {
    const models = await (await fetch(`${url}/models`)).json();
    expect(models).toMatchObject({ object: "list", data: [{ id: "tiny", object: "model" }] });
    const res = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: "hello" }],
        max_tokens: 16,
        temperature: 0,
        response_format: { type: "json_object" },
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { finish_reason: string }[] };
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "tiny",
      choices: [{ index: 0, message: { role: "assistant", content: expect.any(String) } }],
      usage: { completion_tokens: expect.any(Number), prompt_tokens: expect.any(Number) },
    });
    expect(["stop", "length"]).toContain(body.choices[0]?.finish_reason);
  });

  it("answers bad requests with OpenAI-shaped 4xx errors", async () => {
    const post = (body: string) =>
      fetch(`${url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    const notJson = await post("{");
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({
      error: { type: "invalid_request_error", message: "request body is not JSON" },
    });
    const noMessages = await post(JSON.stringify({ model: "tiny", messages: [] }));
    expect(noMessages.status).toBe(400);
    expect(((await noMessages.json()) as { error: { message: string } }).error.message).toMatch(/messages/);
    const streaming = await post(
      JSON.stringify({ messages: [{ role: "user", content: "x" }], stream: true }),
    );
    expect(streaming.status).toBe(400);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });
});

describe("http backend", () => {
  it("gets a validated verdict for every request, concurrently, through real HTTP", async () => {
    const backend = backendAt(url);
    await backend.open();
    const answers = await Promise.all(
      Array.from({ length: 4 }, (_, i) => backend.answer(reasoningRequest({ id: `h-${i}` }), never)),
    );
    for (const a of answers) {
      expect(MODEL_VERDICTS).toContain(a.verdict);
      expect(a.tokens).toBeGreaterThan(10);
      expect([...a.summary].length).toBeLessThanOrEqual(120);
    }
  });

  it("treats an unreachable server as transient and a 404 as configuration", async () => {
    const down = backendAt("http://127.0.0.1:9/v1");
    await down.open();
    await expect(down.answer(reasoningRequest(), never)).rejects.toMatchObject({
      code: "TRANSIENT",
      retriable: true,
      message: expect.stringMatching(/cannot reach http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions/),
    });
    const wrongPath = backendAt(`${url}/wrong`);
    await wrongPath.open();
    await expect(wrongPath.answer(reasoningRequest(), never)).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      retriable: false,
      message: expect.stringMatching(/answered HTTP 404/),
    });
  });

  it("aborts the HTTP call at the deadline signal", async () => {
    const backend = backendAt(url, { maxTokens: 400 });
    await backend.open();
    await expect(backend.answer(reasoningRequest(), AbortSignal.timeout(5))).rejects.toMatchObject({
      name: expect.stringMatching(/AbortError|TimeoutError/),
    });
  });

  it("runs as a tier worker against serve-model", async () => {
    const d = new ProcessorTestDriver<ReasoningRequest, EscalationTierOutputs, EscalationTierOptions>(
      escalationTierSpec,
      { tier: "deepseek", backend: { kind: "http", baseUrl: url, model: "tiny" } },
      { clock: new ManualClock(10_000) },
    );
    try {
      const value = reasoningRequest({ tier: "deepseek", route: "single->deepseek" });
      await d.pipe({ key: value.source, value, timestampMs: value.ts });
      expect(d.read("results")[0]!.value).toMatchObject({ tier: "deepseek", model: "tiny", error: null });
    } finally {
      await d.close();
    }
  });
});
