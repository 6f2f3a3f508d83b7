import { join } from "node:path";
import { Writable } from "node:stream";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../cli/config.js";
import { FeedbackServer } from "../../cli/feedback/feedback-server.js";
import { OpenAiModelServer } from "../../cli/model-server/openai-server.js";
import { openRuntime, type Runtime } from "../../cli/runtime.js";
import {
  HttpBackend,
  httpBackendOptionsSchema,
  LlamaEngine,
} from "../../processors/escalation-tier/index.js";
import { recordTypes } from "../../schemas/index.js";
import { ConfigError } from "../../streams/errors.js";
import { ApiKeys, isLoopbackHost, requireKeysOffLoopback } from "../../streams/http/api-keys.js";
import { createLogger, silentLogger } from "../../streams/logger.js";
import { RegistrySerde, SchemaRegistryServer } from "../../streams/serde/index.js";
import { reasoningRequest } from "../helpers/reasoning-request.js";
import { tinyModelPath } from "../helpers/tiny-model.js";
import { tempDir } from "./helpers/temp-dir.js";

const KEY = "k3y-for-tests-0123456789abcdef";
const OTHER_KEY = "another-key-0123456789abcdef";
const WRONG = "k3y-for-tests-0123456789abcdeX";

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`any:${key}`).toString("base64")}` });

describe("ApiKeys", () => {
  const keys = new ApiKeys([KEY, OTHER_KEY]);
  const req = (headers: Record<string, string>) => ({ headers }) as never;

  it("accepts each configured key and nothing else", () => {
    expect(keys.accepts(KEY)).toBe(true);
    expect(keys.accepts(OTHER_KEY)).toBe(true);
    for (const bad of [undefined, "", WRONG, KEY.slice(0, -1), `${KEY} `, KEY.toUpperCase()]) {
      expect(keys.accepts(bad), String(bad)).toBe(false);
    }
  });

  it("reads the key from Bearer, X-API-Key or HTTP Basic's password", () => {
    expect(ApiKeys.fromRequest(req(bearer(KEY)))).toBe(KEY);
    expect(ApiKeys.fromRequest(req({ "x-api-key": ` ${KEY} ` }))).toBe(KEY);
    expect(ApiKeys.fromRequest(req(basic(KEY)))).toBe(KEY);
    expect(ApiKeys.fromRequest(req({}))).toBeUndefined();
    expect(ApiKeys.fromRequest(req({ authorization: KEY }))).toBeUndefined();
    expect(keys.admits(req(basic(WRONG)))).toBe(false);
    expect(new ApiKeys([]).admits(req({}))).toBe(true);
  });

  it("an endpoint open to other machines needs keys; loopback may go without", () => {
    for (const host of ["127.0.0.1", "127.3.2.1", "localhost", "::1", "[::1]"])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "example.com"]) expect(isLoopbackHost(host)).toBe(false);
    expect(() => requireKeysOffLoopback("0.0.0.0", [], "feedback.apiKeys")).toThrow(
      /feedback\.apiKeys: listening on 0\.0\.0\.0 accepts data from other machines; set at least one API key/,
    );
    expect(() => requireKeysOffLoopback("0.0.0.0", [KEY], "feedback.apiKeys")).not.toThrow();
    expect(() => requireKeysOffLoopback("127.0.0.1", [], "feedback.apiKeys")).not.toThrow();
  });

  it("keys are configured from the environment and validated, naming the field", () => {
    const config = loadConfig({
      env: {
        SPIKEMESH_FEEDBACK__API_KEYS: `${KEY}, ${OTHER_KEY}`,
        SPIKEMESH_SERVE_MODEL__API_KEYS: "1234567890123456789",
        SPIKEMESH_REGISTRY__API_KEYS: KEY,
      },
    });
    expect(config.feedback.apiKeys).toEqual([KEY, OTHER_KEY]);
    expect(config.serveModel.apiKeys).toEqual(["1234567890123456789"]);
    expect(config.registry.apiKeys).toEqual([KEY]);
    let error: unknown;
    try {
      loadConfig({
        env: { SPIKEMESH_FEEDBACK__API_KEYS: "short", SPIKEMESH_REGISTRY__API_KEY: "has a space in it ok" },
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toMatch(/feedback\.apiKeys\.0: an API key must have at least 16 characters/);
    expect(problems).toMatch(/registry\.apiKey: an API key is printable ASCII without spaces/);
  });
});

describe("schema registry writes need a key", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let registry: SchemaRegistryServer;
  let url: string;
  beforeAll(async () => {
    tmp = await tempDir("spikemesh-keys-registry-");
    registry = new SchemaRegistryServer({ dataDir: join(tmp.dir, "registry"), apiKeys: [KEY] });
    url = await registry.start();
  });
  afterAll(async () => {
    await registry?.close();
    await tmp?.remove();
  });

  const post = (headers: Record<string, string>) =>
    fetch(`${url}/subjects/raw-value/versions`, {
      method: "POST",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json", ...headers },
      body: JSON.stringify({ schema: JSON.stringify(recordTypes.Feedback.schema) }),
    });

  it("answers 401 without a key or with a wrong one, and registers with the right one", async () => {
    for (const headers of [{}, bearer(WRONG), basic(WRONG), { "x-api-key": WRONG }] as Record<
      string,
      string
    >[]) {
      const res = await post(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/Bearer realm="spikemesh"/);
      expect(await res.json()).toMatchObject({ error_code: 40101 });
    }
    for (const method of ["PUT", "DELETE"]) {
      const res = await fetch(`${url}/config`, { method, body: JSON.stringify({ compatibility: "NONE" }) });
      expect(res.status, method).toBe(401);
    }
    const ok = await post(bearer(KEY));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id: expect.any(Number) });
    // Reads stay open.
    expect((await fetch(`${url}/subjects`)).status).toBe(200);
  });

  it("the serde sends its apiKey as HTTP Basic; without it a write fails with a clear CONFIG_INVALID", async () => {
    const withKey = new RegistrySerde({ url, apiKey: KEY });
    const id = await withKey.register("keyed-value", recordTypes.TelemetryEvent);
    const bytes = await withKey.encode("keyed-value", {
      ts: 1,
      source: "s",
      metric: "m",
      value: 2,
      tags: {},
    });
    // Decoding (reads) works with or without a key.
    expect(await new RegistrySerde({ url }).decode(bytes)).toMatchObject({ value: 2 });
    expect(id).toBeGreaterThan(0);
    await expect(
      new RegistrySerde({ url, apiKey: WRONG }).register("other-value", recordTypes.LogEvent),
    ).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(/rejected \(HTTP 401\).*check registry\.apiKey/),
    });
  });
});

describe("feedback endpoint needs a key", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;
  let server: FeedbackServer;
  let url: string;
  beforeAll(async () => {
    tmp = await tempDir("spikemesh-keys-feedback-");
    const config = loadConfig({ flags: { dataDir: tmp.dir } });
    runtime = await openRuntime(config, silentLogger());
    server = new FeedbackServer({ runtime, log: silentLogger(), apiKeys: [KEY] });
    url = await server.start(new AbortController().signal);
  });
  afterAll(async () => {
    await server?.close();
    await runtime?.close();
    await tmp?.remove();
  });

  const post = (headers: Record<string, string>) =>
    fetch(`${url}/feedback`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ requestId: "no-such-request", judgement: "useful" }),
    });

  it("401 without or with a wrong key; with the right key the request is judged (404: unknown id)", async () => {
    for (const headers of [{}, bearer(WRONG), { "x-api-key": "" }] as Record<string, string>[]) {
      const res = await post(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(await res.json()).toEqual({
        error: "missing or unknown API key (Authorization: Bearer <key> or X-API-Key)",
      });
    }
    for (const headers of [bearer(KEY), { "x-api-key": KEY }] as Record<string, string>[]) {
      const res = await post(headers);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({
        error: expect.stringMatching(/no result for request no-such-request/),
      });
    }
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });
});

describe("serve-model needs a key for completions", () => {
  let engine: LlamaEngine;
  let server: OpenAiModelServer;
  let url: string;
  beforeAll(async () => {
    engine = await LlamaEngine.acquire({
      modelPath: tinyModelPath(),
      gpu: false,
      gpuLayers: 0,
      maxThreads: 1,
      contextSize: 4096,
      sequences: 1,
      flashAttention: false,
    });
    server = new OpenAiModelServer({
      engine,
      modelName: "tiny",
      metrics: new Registry(),
      log: silentLogger(),
      apiKeys: [KEY],
    });
    url = await server.start();
  });
  afterAll(async () => {
    await server?.close();
    await engine?.release();
  });

  const chat = (headers: Record<string, string>) =>
    fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
    });

  it("401 in the OpenAI error shape without or with a wrong key; 200 with the right one", async () => {
    for (const headers of [{}, bearer(WRONG)] as Record<string, string>[]) {
      const res = await chat(headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_api_key" } });
    }
    const ok = await chat(bearer(KEY));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ object: "chat.completion", model: "tiny" });
    expect((await fetch(`${url}/models`)).status).toBe(200);
  });

  it("the http tier backend's apiKey is what gets it through", async () => {
    const backend = async (apiKey?: string) => {
      const b = new HttpBackend(
        httpBackendOptionsSchema.parse({
          kind: "http",
          baseUrl: url,
          model: "tiny",
          ...(apiKey ? { apiKey } : {}),
        }),
        "phi2",
      );
      await b.open();
      return b;
    };
    const signal = new AbortController().signal;
    await expect((await backend()).answer(reasoningRequest(), signal)).rejects.toMatchObject({
      message: expect.stringMatching(/HTTP 401/),
    });
    await expect((await backend(KEY)).answer(reasoningRequest(), signal)).resolves.toMatchObject({
      verdict: expect.any(String),
    });
  });
});

describe("the root logger redacts secrets by field name", () => {
  it("config sections, SASL settings and request headers come out as [redacted]", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString("utf8"));
        done();
      },
    });
    const log = createLogger({ level: "debug" }, sink);
    log.debug(
      { config: { registry: { apiKeys: [KEY] }, kafka: { sasl: { password: OTHER_KEY } } } },
      "config",
    );
    log.debug({ registry: { apiKey: KEY }, feedback: { apiKeys: [KEY] } }, "sections");
    log.debug({ req: { headers: { authorization: `Bearer ${KEY}`, "x-api-key": OTHER_KEY } } }, "request");
    log.debug({ headers: { authorization: `Bearer ${KEY}` } }, "headers");
    const text = lines.join("");
    expect(lines).toHaveLength(4);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(OTHER_KEY);
    expect(text.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(7);
  });
});
