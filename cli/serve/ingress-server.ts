import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { z } from "zod";
import { jobRequirementsSchema } from "../../processors/index.js";
import type { ReasoningRequest } from "../../schemas/index.js";
import { ApiKeys } from "../../streams/http/api-keys.js";
import { closeHttp, listenHttp } from "../../streams/http/listen.js";
import { counter, describeError, type Logger } from "../../streams/index.js";
import type { RecordCodec } from "../../streams/topology/codec.js";
import type { Producer, Transport } from "../../streams/transport/transport.js";
import { EVENT_KINDS, type EventKind, ingestEvents, isEventKind } from "./event-ingest.js";
import { HttpError, readJsonBody, sendJson } from "./http-io.js";
import { type JobEvent, JobTracker } from "./job-tracker.js";

export interface IngressServerOptions {
  transport: Transport;
  codec: RecordCodec;
  log: Logger;
  metrics: Registry;
  apiKeys: readonly string[];
  tiers: readonly string[];
  partitions: number;
  maxBodyBytes: number;
  jobTimeoutMs: number;
  maxJobs: number;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  nowMs?: () => number;
  /** Seconds between SSE keep-alive comments. Default 15. */
  keepAliveS?: number;
}

type RouteLabel = "health" | "events" | "jobs" | "job" | "job_events" | "unknown";

/**
 * `spikemesh serve`: HTTP ingress for events and jobs. Every route but GET /health needs an API key
 * (checked before the body is read). POST /events/telemetry and /events/logs take one event or an
 * array, validated as a whole (400 naming the first bad field) and produced as Avro to
 * telemetry.raw / logs.raw. POST /jobs puts a ReasoningRequest on escalations.<tier> and answers 202
 * with its job id; GET /jobs/<id> is its progress so far and GET /jobs/<id>/events streams it as
 * server-sent events: queued → assigned (per worker) → answered (with the result), then closes.
 * Bodies over maxBodyBytes get 413.
 */
export class IngressServer {
  private server: Server | undefined;
  private producer: Producer | undefined;
  private baseUrl: string | undefined;
  private readonly keys: ApiKeys;
  private readonly tracker: JobTracker;
  private readonly requests;
  private readonly jobSchema;
  private readonly nowMs: () => number;

  constructor(private readonly opts: IngressServerOptions) {
    this.keys = new ApiKeys(opts.apiKeys);
    this.nowMs = opts.nowMs ?? Date.now;
    this.tracker = new JobTracker({
      transport: opts.transport,
      codec: opts.codec,
      log: opts.log,
      tiers: opts.tiers,
      partitions: opts.partitions,
      maxJobs: opts.maxJobs,
      nowMs: this.nowMs,
    });
    this.requests = counter(opts.metrics, {
      name: "spikemesh_serve_requests_total",
      help: "HTTP requests to spikemesh serve, by route (health, events, jobs, job, job_events, unknown) and status code",
      labelNames: ["route", "status"],
    });
    this.jobSchema = z.strictObject({
      /** Tier that answers the job. */
      tier: z.enum(opts.tiers as [string, ...string[]]),
      /** What to reason about, as text. */
      prompt: z.string().max(100_000).optional(),
      /** Structured input, quoted into the prompt as data. */
      data: z.unknown().optional(),
      /** Source id the job is about (the record key). Default "serve". */
      source: z.string().min(1).max(200).default("serve"),
      /** Route id feedback goes to. Default `job->tier`. */
      route: z.string().min(1).max(200).optional(),
      /** What the answering worker must have (model, minParamsB, minMemoryGb, format, gpu). */
      requires: jobRequirementsSchema.optional(),
      /** Deadline from now, ms. Default serve.jobTimeoutMs. */
      timeoutMs: z.number().int().positive().max(86_400_000).optional(),
    });
  }

  get url(): string {
    if (!this.baseUrl) throw new Error("the ingress server is not started");
    return this.baseUrl;
  }

  /** Creates the event topics when missing, starts following jobs, then listens. */
  async start(): Promise<string> {
    await this.opts.transport
      .admin()
      .createTopics(
        Object.values(EVENT_KINDS).map((k) => ({ name: k.topic, partitions: this.opts.partitions })),
      );
    await this.tracker.start();
    this.producer = this.opts.transport.producer({ idempotent: true });
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
    await this.tracker.close();
    await this.producer?.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const parts = path.split("/").filter((p) => p !== "");
    let route: RouteLabel = "unknown";
    res.on("finish", () => this.requests.inc({ route, status: String(res.statusCode) }));
    try {
      if (path === "/health") {
        route = "health";
        return sendJson(res, 200, { status: "ok" });
      }
      if (parts[0] === "events" && parts.length === 2) route = "events";
      else if (parts[0] === "jobs" && parts.length === 1) route = "jobs";
      else if (parts[0] === "jobs" && parts.length === 2) route = "job";
      else if (parts[0] === "jobs" && parts.length === 3 && parts[2] === "events") route = "job_events";
      else throw new HttpError(404, `no route ${req.method} ${path}; see README "Serve"`);
      if (!this.keys.accepts(ApiKeys.fromRequest(req))) {
        res.setHeader("www-authenticate", 'Bearer realm="spikemesh"');
        throw new HttpError(401, "missing or unknown API key (Authorization: Bearer <key> or X-API-Key)");
      }
      const method = route === "events" || route === "jobs" ? "POST" : "GET";
      if (req.method !== method) {
        res.setHeader("allow", method);
        throw new HttpError(405, `use ${method} for ${path}`);
      }
      switch (route) {
        case "events":
          return await this.postEvents(parts[1]!, req, res);
        case "jobs":
          return await this.postJob(req, res);
        case "job":
          return this.getJob(parts[1]!, res);
        case "job_events":
          return this.streamJob(parts[1]!, req, res);
      }
    } catch (err) {
      if (err instanceof HttpError) {
        if (err.status === 413) req.resume();
        return sendJson(
          res,
          err.status,
          { error: err.message, ...(err.field ? { field: err.field } : {}) },
          err.status === 413,
        );
      }
      this.opts.log.error({ err, path }, "serve request failed");
      return sendJson(res, 500, { error: describeError(err) });
    }
  }

  private async postEvents(kind: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isEventKind(kind)) throw new HttpError(404, `no event kind "${kind}": telemetry or logs`);
    const body = await readJsonBody(req, this.opts.maxBodyBytes);
    const out = await ingestEvents(kind as EventKind, body, this.opts.codec, this.producer!);
    sendJson(res, 202, out);
  }

  private async postJob(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonBody(req, this.opts.maxBodyBytes);
    const parsed = this.jobSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join(".") || "(body)";
      throw new HttpError(400, `${field}: ${issue.message}`, field);
    }
    const job = parsed.data;
    if (job.prompt === undefined && job.data === undefined) {
      throw new HttpError(400, "prompt: give a prompt or data (or both)", "prompt");
    }
    const nowMs = this.nowMs();
    const id = randomUUID();
    const request: ReasoningRequest = {
      id,
      ts: nowMs,
      tier: job.tier,
      route: job.route ?? `job->${job.tier}`,
      source: job.source,
      spikes: [],
      context: JSON.stringify({
        kind: "job",
        ...(job.prompt === undefined ? {} : { prompt: job.prompt }),
        ...(job.data === undefined ? {} : { data: job.data }),
        ...(job.requires === undefined ? {} : { requires: job.requires }),
      }),
      deadline: nowMs + (job.timeoutMs ?? this.opts.jobTimeoutMs),
      depth: 0,
    };
    const queued = await this.tracker.submit(request);
    res.setHeader("location", `/jobs/${id}`);
    sendJson(res, 202, {
      jobId: id,
      status: queued.event,
      events: `/jobs/${id}/events`,
      deadline: request.deadline,
    });
  }

  private getJob(id: string, res: ServerResponse): void {
    const events = this.tracker.events(id);
    if (!events) throw new HttpError(404, `no job ${id} (unknown here, or forgotten)`);
    sendJson(res, 200, { jobId: id, status: events[events.length - 1]?.event ?? "queued", events });
  }

  private streamJob(id: string, req: IncomingMessage, res: ServerResponse): void {
    const past = this.tracker.events(id);
    if (!past) throw new HttpError(404, `no job ${id} (unknown here, or forgotten)`);
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    let n = 0;
    let unsubscribe = () => {};
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), (this.opts.keepAliveS ?? 15) * 1000);
    keepAlive.unref();
    const finish = () => {
      clearInterval(keepAlive);
      unsubscribe();
    };
    const send = (event: JobEvent) => {
      res.write(`id: ${++n}\nevent: ${event.event}\ndata: ${JSON.stringify(event)}\n\n`);
      if (event.event === "answered") {
        finish();
        res.end();
      }
    };
    req.on("close", finish);
    const snapshot = [...past];
    unsubscribe = this.tracker.subscribe(id, send);
    for (const event of snapshot) {
      send(event);
      if (event.event === "answered") return;
    }
  }
}
