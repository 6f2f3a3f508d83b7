import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Command, InvalidArgumentError } from "commander";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { Logger } from "../streams/index.js";

/** The flags `addMetricsOptions` declares. */
export interface MetricsFlags {
  /** Absent: no server. 0 picks a free port (logged). */
  metricsPort?: number;
  metricsHost: string;
}

/** A request handler mounted beside /metrics (the live view); returns false when the path is not its own. */
export type Route = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Something served beside /metrics, closed with the server. */
export interface Mount {
  route: Route;
  close(): Promise<void>;
}

/** Declares `--metrics-port` and `--metrics-host` on a command (`run`, `demo`). */
export function addMetricsOptions(command: Command): Command {
  return command
    .option(
      "--metrics-port <port>",
      "serve Prometheus metrics on http://<host>:<port>/metrics and the live view on / (0 picks a free port)",
      portArg,
    )
    .option("--metrics-host <address>", "address the metrics server listens on", "0.0.0.0");
}

/**
 * The HTTP endpoint Prometheus scrapes: GET /metrics renders the registry the runner and processors
 * write to, plus prom-client's default process metrics (CPU, memory, event-loop lag, GC, handles),
 * which are registered on that registry, never on prom-client's global one.
 */
export class MetricsServer {
  private constructor(
    private readonly server: Server,
    /** Base URL, e.g. http://127.0.0.1:9464 */
    readonly url: string,
    private readonly scraped: ScrapeWaiters,
  ) {}

  static async start(options: {
    registry: Registry;
    port: number;
    host?: string;
    log: Logger;
    routes?: Route[];
  }): Promise<MetricsServer> {
    const { registry, log } = options;
    const routes = options.routes ?? [];
    const scraped = new ScrapeWaiters();
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      if (req.method === "GET" && path === "/metrics") {
        registry.metrics().then(
          (body) => {
            res.writeHead(200, { "content-type": registry.contentType });
            res.end(body, () => scraped.notify());
          },
          (err: unknown) => {
            log.warn({ err }, "rendering /metrics failed");
            res.writeHead(500, { "content-type": "text/plain" });
            res.end("metrics failed\n");
          },
        );
        return;
      }
      for (const route of routes) if (route(req, res)) return;
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found: try /metrics\n");
    });
    // Keep-alive connections (Prometheus holds one) must not keep the process alive after close().
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host ?? "0.0.0.0", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    const url = `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${address.port}`;
    log.info({ url: `${url}/metrics` }, "metrics server listening");
    return new MetricsServer(server, url, scraped);
  }

  /**
   * Resolves after the next GET /metrics has been answered, true; false after `timeoutMs` without
   * one. A demo waits for it before producing, so a Prometheus that scrapes it sees every counter
   * at zero first and rate() shows even a burst shorter than a scrape interval.
   */
  nextScrape(timeoutMs: number): Promise<boolean> {
    return this.scraped.next(timeoutMs);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Callers waiting for the next answered scrape. */
class ScrapeWaiters {
  private waiting: ((scraped: boolean) => void)[] = [];

  notify(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve(true);
  }

  next(timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (scraped: boolean) => {
        clearTimeout(timer);
        resolve(scraped);
      };
      this.waiting.push(done);
    });
  }
}

/** A registry for one command run, with the default process metrics registered on it. */
export function commandRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Runs `use` with the command's metrics registry; when `--metrics-port` was given, /metrics (and
 * whatever `mount` creates, e.g. the live view) are served for as long as `use` runs.
 */
export async function withMetricsServer<T>(
  flags: MetricsFlags,
  log: Logger,
  use: (registry: Registry, server: MetricsServer | null) => Promise<T>,
  mount?: () => Mount,
): Promise<T> {
  const registry = commandRegistry();
  if (flags.metricsPort === undefined) return use(registry, null);
  const mounted = mount?.();
  try {
    const server = await MetricsServer.start({
      registry,
      port: flags.metricsPort,
      host: flags.metricsHost,
      log,
      routes: mounted ? [mounted.route] : [],
    });
    try {
      return await use(registry, server);
    } finally {
      await server.close();
    }
  } finally {
    await mounted?.close();
  }
}

function portArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}"`);
  }
  return n;
}
