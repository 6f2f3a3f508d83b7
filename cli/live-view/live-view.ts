import type { Logger } from "../../streams/index.js";
import type { Route } from "../metrics-server.js";
import type { Runtime } from "../runtime.js";
import { type LiveBatch, LiveFeed } from "./live-feed.js";
import { LIVE_PAGE } from "./live-page.js";

export interface LiveView {
  /** Serves GET / (the page) and GET /live/events (server-sent events). */
  route: Route;
  close(): Promise<void>;
}

/**
 * The live view on the metrics port: the page at /, and at /live/events one `snapshot` event with
 * the recent spikes, results and route weights, then an `update` event with what is new every
 * 250 ms (a comment line every 15 s keeps idle proxies from closing the stream).
 */
export function liveView(
  runtime: Runtime,
  log: Logger,
  options: { appId: string; fromBeginning: boolean },
): LiveView {
  const feed = new LiveFeed({
    transport: runtime.transport,
    codec: runtime.codec,
    log: log.child({ component: "live-view" }),
    groupId: `${options.appId}.live-view.${process.pid}`,
    fromBeginning: options.fromBeginning,
  });
  const flusher = setInterval(() => feed.flush(), 250);
  flusher.unref();
  const route: Route = (req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "GET") return false;
    if (path === "/" || path === "/live") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" });
      res.end(LIVE_PAGE);
      return true;
    }
    if (path !== "/live/events") return false;
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    const send = (event: string, batch: LiveBatch) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(batch)}\n\n`);
    send("snapshot", feed.snapshot());
    const unsubscribe = feed.subscribe((batch) => send("update", batch));
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
    heartbeat.unref();
    req.on("close", () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
    return true;
  };
  return {
    route,
    async close() {
      clearInterval(flusher);
      await feed.close();
    },
  };
}
