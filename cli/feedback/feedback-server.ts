import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Feedback } from "../../schemas/index.js";
import { ApiKeys, sendUnauthorized } from "../../streams/http/api-keys.js";
import { closeHttp, listenHttp } from "../../streams/http/listen.js";
import { describeError, type Logger } from "../../streams/index.js";
import type { Runtime } from "../runtime.js";
import { isJudgement, JUDGEMENTS, operatorFeedback } from "./operator-feedback.js";
import { publishFeedback, ResultIndex } from "./result-index.js";

export interface FeedbackServerOptions {
  runtime: Runtime;
  log: Logger;
  /** Default 0: a free port. */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** Current time for the Feedback's `ts`. Default Date.now. */
  nowMs?: () => number;
  /** Keys POST /feedback requires (`Authorization: Bearer <key>` or `X-API-Key`). Default: none (open). */
  apiKeys?: readonly string[];
}

const MAX_BODY_BYTES = 64 * 1024;

/**
 * Operators' feedback over HTTP: `POST /feedback` with `{"requestId": "...", "judgement":
 * "useful" | "wrong"}` publishes a Feedback for that request's result to the `feedback` topic and
 * answers 202 with it; 404 when no result with that id has been seen on `reasoning.results`
 * (followed live), 400 for a bad body, 401 without one of `apiKeys` (when set). `GET /health` answers 200.
 */
export class FeedbackServer {
  private server: Server | undefined;
  private readonly index: ResultIndex;
  private baseUrl: string | undefined;
  private readonly keys: ApiKeys;

  constructor(private readonly opts: FeedbackServerOptions) {
    this.index = new ResultIndex(opts.runtime, opts.log);
    this.keys = new ApiKeys(opts.apiKeys ?? []);
  }

  get url(): string {
    if (!this.baseUrl) throw new Error("the feedback server is not started");
    return this.baseUrl;
  }

  async start(signal: AbortSignal): Promise<string> {
    await this.index.catchUp(signal);
    this.index.follow();
    const { server, url } = await listenHttp((req, res) => this.handle(req, res), {
      host: this.opts.host,
      port: this.opts.port,
    });
    this.server = server;
    this.baseUrl = url;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await closeHttp(server);
    await this.index.close();
  }

  /** Publishes the operator's judgement of `requestId`; undefined when its result is unknown. */
  async judge(requestId: string, judgement: "useful" | "wrong"): Promise<Feedback | undefined> {
    const result = this.index.get(requestId);
    if (!result) return undefined;
    const feedback = operatorFeedback(result, judgement, (this.opts.nowMs ?? Date.now)());
    await publishFeedback(this.opts.runtime, feedback);
    this.opts.log.info({ requestId, route: feedback.route, outcome: feedback.outcome }, "operator feedback");
    return feedback;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    try {
      if (req.method === "GET" && path === "/health") return send(res, 200, { status: "ok" });
      if (path !== "/feedback")
        return send(res, 404, { error: `no route ${req.method} ${path}; POST /feedback` });
      if (req.method !== "POST") return send(res, 405, { error: "use POST" });
      if (!this.keys.admits(req)) {
        res.setHeader("Connection", "close");
        return sendUnauthorized(res, {
          error: "missing or unknown API key (Authorization: Bearer <key> or X-API-Key)",
        });
      }
      const body = await readJson(req);
      const requestId = typeof body?.requestId === "string" ? body.requestId : undefined;
      const judgement = typeof body?.judgement === "string" ? body.judgement.toLowerCase() : undefined;
      if (!requestId || !judgement || !isJudgement(judgement)) {
        return send(res, 400, {
          error: `expected {"requestId": string, "judgement": ${JUDGEMENTS.map((j) => `"${j}"`).join(" | ")}}`,
        });
      }
      const feedback = await this.judge(requestId, judgement);
      if (!feedback) {
        return send(res, 404, {
          error: `no result for request ${requestId} on reasoning.results (${this.index.read} read)`,
        });
      }
      return send(res, 202, { feedback });
    } catch (err) {
      if (err instanceof SyntaxError) return send(res, 400, { error: "body is not JSON" });
      this.opts.log.error({ err }, "feedback request failed");
      return send(res, 500, { error: describeError(err) });
    }
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SyntaxError("body too large");
    chunks.push(chunk as Buffer);
  }
  const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
