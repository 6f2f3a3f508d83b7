import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Counter, Histogram, Registry } from "prom-client";
import { z } from "zod";
import type { ChatMessage, LlamaEngine } from "../../processors/index.js";
import { ApiKeys, sendUnauthorized } from "../../streams/http/api-keys.js";
import {
  counter,
  describeError,
  histogram,
  LATENCY_BUCKETS_SECONDS,
  type Logger,
} from "../../streams/index.js";

export interface OpenAiModelServerOptions {
  engine: LlamaEngine;
  /** Model id the server reports and accepts (requests naming another model still get this one). */
  modelName: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default "127.0.0.1"; "0.0.0.0" serves other machines. */
  host?: string;
  /** Prometheus metrics, served on GET /metrics. */
  metrics: Registry;
  log: Logger;
  /** Tokens generated when a request names no max_tokens. Default 512. */
  defaultMaxTokens?: number;
  /** Largest request body, bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Keys POST /v1/chat/completions requires (`Authorization: Bearer <key>`, as OpenAI clients and the
   * http tier backend's `apiKey` send it, or `X-API-Key`). Default: none (open).
   */
  apiKeys?: readonly string[];
}

const messageSchema = z.object({
  role: z.enum(["system", "user", "assistant", "developer"]),
  content: z.union([
    z.string(),
    z.array(z.object({ type: z.literal("text"), text: z.string() }).loose()).min(1),
  ]),
});

const chatRequestSchema = z
  .object({
    model: z.string().optional(),
    messages: z.array(messageSchema).min(1),
    max_tokens: z.number().int().positive().optional(),
    max_completion_tokens: z.number().int().positive().optional(),
    temperature: z.number().min(0).max(2).optional(),
    seed: z.number().int().optional(),
    stream: z.boolean().optional(),
    response_format: z
      .discriminatedUnion("type", [
        z.object({ type: z.literal("text") }),
        z.object({ type: z.literal("json_object") }),
        z.object({
          type: z.literal("json_schema"),
          json_schema: z
            .object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()) })
            .loose(),
        }),
      ])
      .optional(),
  })
  .loose();

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
  ) {
    super(message);
  }
}

/**
 * An OpenAI-compatible HTTP endpoint on a node-llama-cpp engine, so a GPU machine can serve a tier
 * to workers elsewhere: `POST /v1/chat/completions` (non-streaming; `response_format` json_schema
 * and json_object become grammars), `GET /v1/models`, `GET /health` and `GET /metrics`. Requests
 * run on the engine's sequences; more wait their turn. A client that disconnects aborts its
 * generation.
 */
export class OpenAiModelServer {
  private server: Server | undefined;
  private baseUrl: string | undefined;
  private readonly requests: Counter<"outcome">;
  private readonly tokens: Counter<"kind">;
  private readonly latency: Histogram;
  private nextId = 0;
  private readonly keys: ApiKeys;

  constructor(private readonly opts: OpenAiModelServerOptions) {
    this.keys = new ApiKeys(opts.apiKeys ?? []);
    this.requests = counter(opts.metrics, {
      name: "spikemesh_serve_model_requests_total",
      help: "Chat completion requests, by outcome: ok, client_error, unauthorized, error, aborted",
      labelNames: ["outcome"],
    });
    this.tokens = counter(opts.metrics, {
      name: "spikemesh_serve_model_tokens_total",
      help: "Tokens evaluated, by kind: prompt (a reused prefix not counted again), completion",
      labelNames: ["kind"],
    });
    this.latency = histogram(opts.metrics, {
      name: "spikemesh_serve_model_request_seconds",
      help: "Time to answer one chat completion, waiting for a free sequence included",
      buckets: LATENCY_BUCKETS_SECONDS,
    });
  }

  /** `http://host:port/v1`, the base URL clients (and the http backend's baseUrl) use. */
  get url(): string {
    if (!this.baseUrl) throw new Error("the model server is not started");
    return `${this.baseUrl}/v1`;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    const host = this.opts.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    this.server = server;
    this.baseUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    try {
      if (req.method === "GET" && (path === "/health" || path === "/v1/health")) {
        return send(res, 200, { status: "ok", model: this.opts.modelName });
      }
      if (req.method === "GET" && path === "/v1/models") {
        return send(res, 200, {
          object: "list",
          data: [{ id: this.opts.modelName, object: "model", created: 0, owned_by: "spikemesh" }],
        });
      }
      if (req.method === "GET" && path === "/metrics") {
        res.writeHead(200, { "content-type": this.opts.metrics.contentType });
        res.end(await this.opts.metrics.metrics());
        return;
      }
      if (path === "/v1/chat/completions") {
        if (req.method !== "POST") throw new HttpError(405, "use POST");
        if (!this.keys.admits(req)) {
          this.requests.inc({ outcome: "unauthorized" });
          return sendUnauthorized(res, {
            error: {
              message: "missing or unknown API key (Authorization: Bearer <key>)",
              type: "invalid_request_error",
              code: "invalid_api_key",
            },
          });
        }
        return await this.chat(req, res);
      }
      throw new HttpError(404, `no route ${req.method} ${path}; try POST /v1/chat/completions`);
    } catch (err) {
      if (err instanceof HttpError) {
        if (path === "/v1/chat/completions") this.requests.inc({ outcome: "client_error" });
        return send(res, err.status, { error: { message: err.message, type: err.type, code: null } });
      }
      this.requests.inc({ outcome: "error" });
      this.opts.log.error({ err }, "chat completion failed");
      return send(res, 500, { error: { message: describeError(err), type: "server_error", code: null } });
    }
  }

  private async chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const parsed = chatRequestSchema.safeParse(await readJson(req, this.opts.maxBodyBytes ?? 1024 * 1024));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HttpError(400, `invalid request at "${issue?.path.join(".")}": ${issue?.message}`);
    }
    const body = parsed.data;
    if (body.stream) throw new HttpError(400, "stream: true is not supported; send stream: false");
    const messages: ChatMessage[] = body.messages.map((m) => ({
      role: m.role === "developer" ? "system" : m.role,
      content: typeof m.content === "string" ? m.content : m.content.map((p) => p.text).join(""),
    }));
    const format = body.response_format;
    const disconnected = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) disconnected.abort(new Error("client disconnected"));
    });
    let jsonSchema: object | undefined;
    if (format?.type === "json_schema") {
      jsonSchema = format.json_schema.schema;
      try {
        await this.opts.engine.grammarFor(jsonSchema);
      } catch (err) {
        throw new HttpError(
          400,
          `response_format.json_schema.schema is not supported: ${describeError(err)}`,
        );
      }
    }
    let generation: Awaited<ReturnType<LlamaEngine["generate"]>>;
    try {
      generation = await this.opts.engine.generate({
        messages,
        jsonSchema,
        isJson: format?.type === "json_object",
        maxTokens: body.max_completion_tokens ?? body.max_tokens ?? this.opts.defaultMaxTokens ?? 512,
        temperature: body.temperature ?? 0.7,
        seed: body.seed,
        signal: disconnected.signal,
      });
    } catch (err) {
      if (disconnected.signal.aborted) {
        this.requests.inc({ outcome: "aborted" });
        return;
      }
      throw err;
    }
    this.requests.inc({ outcome: "ok" });
    this.tokens.inc({ kind: "prompt" }, generation.promptTokens);
    this.tokens.inc({ kind: "completion" }, generation.completionTokens);
    this.latency.observe((performance.now() - started) / 1000);
    send(res, 200, {
      id: `chatcmpl-${process.pid}-${++this.nextId}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: this.opts.modelName,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: generation.text },
          finish_reason: generation.finishReason === "other" ? "stop" : generation.finishReason,
        },
      ],
      usage: {
        prompt_tokens: generation.promptTokens,
        completion_tokens: generation.completionTokens,
        total_tokens: generation.promptTokens + generation.completionTokens,
      },
    });
  }
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new HttpError(413, `request body over ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "request body is not JSON");
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
