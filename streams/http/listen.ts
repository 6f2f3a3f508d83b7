import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A started HTTP server and the base URL it answers on. */
export interface Listening {
  server: Server;
  /** `http://host:port`, with an IPv6 host in brackets. */
  url: string;
}

/**
 * Starts an HTTP server on `host:port` (port 0 picks a free one) that hands every request to
 * `handle`; rejects when the port cannot be taken.
 */
export async function listenHttp(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  options: { host?: string | undefined; port?: number | undefined } = {},
): Promise<Listening> {
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://${host.includes(":") ? `[${host}]` : host}:${port}` };
}

/** Closes a server started by `listenHttp`, dropping open connections (streams included) at once. */
export async function closeHttp(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
