import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SpikemeshError } from "../errors.js";
import { ApiKeys, sendUnauthorized } from "../http/api-keys.js";
import { type Logger, silentLogger } from "../logger.js";
import { badRequest, RegistryApiError } from "./registry-api-error.js";
import { readJsonBody, sendJson } from "./registry-http.js";
import { matchRoute, type RouteRequest } from "./registry-routes.js";
import { RegistryStore } from "./registry-store.js";

export interface SchemaRegistryServerOptions {
  /** Directory holding `schema-registry.json`; created on the first change. */
  dataDir: string;
  /** TCP port; 0 (default) picks a free one, see `url` after `start()`. */
  port?: number;
  /** Interface to listen on. Default "127.0.0.1" (local only). */
  host?: string;
  /** Largest accepted request body in bytes. Default 4 MiB. */
  maxBodyBytes?: number;
  /** Default: silent. Only unexpected (500) errors are logged, at error level. */
  log?: Logger;
  /**
   * Keys required for writes (POST, PUT, DELETE): `Authorization: Basic any:<key>` (what Confluent
   * clients send), `Bearer <key>` or `X-API-Key`. Reads stay open. Default: none (writes open).
   */
  apiKeys?: readonly string[];
}

const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * An embedded, Confluent-compatible schema registry (Avro only) on node:http: the subset of the REST
 * API that @kafkajs/confluent-schema-registry and common tools use — subjects and versions, schemas
 * by id, lookups, compatibility checks and levels, soft and permanent deletes. State persists in
 * `dataDir` and survives restarts with the same ids.
 *
 * @example
 * const registry = new SchemaRegistryServer({ dataDir: ".spikemesh/registry" });
 * const url = await registry.start(); // http://127.0.0.1:<port>
 * // ... new RegistrySerde({ url }) ...
 * await registry.close();
 */
export class SchemaRegistryServer {
  private readonly options: SchemaRegistryServerOptions;
  private readonly log: Logger;
  private readonly maxBodyBytes: number;
  private readonly keys: ApiKeys;
  private server: Server | null = null;
  private store: RegistryStore | null = null;
  private baseUrl: string | null = null;

  constructor(options: SchemaRegistryServerOptions) {
    this.options = options;
    this.log = options.log ?? silentLogger();
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.keys = new ApiKeys(options.apiKeys ?? []);
  }

  /** Base URL, e.g. `http://127.0.0.1:43817`. Throws before `start()`. */
  get url(): string {
    if (this.baseUrl === null)
      throw new SpikemeshError("CLOSED", "schema registry is not started; call start() first");
    return this.baseUrl;
  }

  /** Loads the data directory and starts listening; resolves with the base URL. */
  async start(): Promise<string> {
    if (this.baseUrl !== null) return this.baseUrl;
    const store = await RegistryStore.open(this.options.dataDir);
    const server = createServer((req, res) => {
      void this.handle(store, req, res);
    });
    const host = this.options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    this.server = server;
    this.store = store;
    this.baseUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    return this.baseUrl;
  }

  /** Stops listening, drops open connections and waits for pending writes. Safe to call twice. */
  async close(): Promise<void> {
    const server = this.server;
    const store = this.store;
    this.server = null;
    this.store = null;
    this.baseUrl = null;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    await store?.close();
  }

  private async handle(store: RegistryStore, req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const isWrite = req.method !== "GET" && req.method !== "HEAD";
      if (isWrite && !this.keys.admits(req)) {
        // The body is not read, so the connection cannot carry another request.
        res.setHeader("Connection", "close");
        sendUnauthorized(res, {
          error_code: 40101,
          message:
            "Unauthorized: writes to this schema registry need an API key (HTTP Basic any:<key>, Bearer or X-API-Key)",
        });
        return;
      }
      const url = new URL(req.url ?? "/", "http://registry.invalid");
      const { handler, params } = matchRoute(req.method ?? "GET", pathSegments(url.pathname));
      let body: Promise<unknown> | null = null;
      const request: RouteRequest = {
        params,
        query: url.searchParams,
        body: () => {
          body ??= readJsonBody(req, this.maxBodyBytes);
          return body;
        },
      };
      sendJson(res, 200, await handler(request, store));
    } catch (err) {
      this.fail(req, res, err);
    }
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof RegistryApiError) {
      // A body we refused is not read to its end, so the connection cannot carry another request.
      if (err.status === 413) res.setHeader("Connection", "close");
      sendJson(res, err.status, err.toBody());
      return;
    }
    this.log.error({ err, method: req.method, url: req.url }, "schema registry request failed");
    sendJson(res, 500, {
      error_code: 50001,
      message: `Internal error: ${(err as Error)?.message ?? String(err)}`,
    });
  }
}

/** Path segments, each percent-decoded (a subject may contain an encoded "/"). */
function pathSegments(pathname: string): string[] {
  try {
    return pathname
      .split("/")
      .filter((s) => s !== "")
      .map((s) => decodeURIComponent(s));
  } catch {
    throw badRequest(`Malformed percent-encoding in path ${pathname}`);
  }
}
