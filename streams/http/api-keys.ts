import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ConfigError } from "../errors.js";

/**
 * The API keys an HTTP endpoint accepts. Keys are kept as SHA-256 digests and a presented key is
 * compared with every one of them by `crypto.timingSafeEqual` over digests (equal lengths whatever
 * was sent, no early exit), so response time says nothing about how much of a key was right.
 *
 * @example
 * const keys = new ApiKeys(config.serve.apiKeys);
 * if (!keys.accepts(ApiKeys.fromRequest(req))) return sendUnauthorized(res, { error: "missing or unknown API key" });
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get isEmpty(): boolean {
    return this.digests.length === 0;
  }

  /** True when `presented` is one of the keys. */
  accepts(presented: string | undefined): boolean {
    if (presented === undefined || presented === "") return false;
    const candidate = digest(presented);
    let isMatch = false;
    for (const known of this.digests) isMatch = timingSafeEqual(candidate, known) || isMatch;
    return isMatch;
  }

  /** True when no keys are configured (an open endpoint) or the request carries one of them. */
  admits(req: IncomingMessage): boolean {
    return this.isEmpty || this.accepts(ApiKeys.fromRequest(req));
  }

  /**
   * The key of a request: `Authorization: Bearer <key>`, `X-API-Key: <key>`, or the password of
   * `Authorization: Basic` (what Confluent schema registry clients send: `basic.auth.user.info=any:<key>`).
   */
  static fromRequest(req: IncomingMessage): string | undefined {
    const auth = req.headers.authorization;
    if (typeof auth === "string") {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (bearer) return bearer[1];
      const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth);
      if (basic) {
        const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        return colon >= 0 ? decoded.slice(colon + 1) : undefined;
      }
    }
    const header = req.headers["x-api-key"];
    return typeof header === "string" ? header.trim() : undefined;
  }
}

/** Answers 401 with a JSON body and the challenge headers for Bearer and Basic clients. */
export function sendUnauthorized(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(401, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "www-authenticate": 'Bearer realm="spikemesh", Basic realm="spikemesh"',
  });
  res.end(text);
}

/** True for an address only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * An endpoint that accepts data may listen beyond this machine only with API keys: throws a
 * ConfigError naming `field` (e.g. `feedback.apiKeys`) when `host` is not loopback and `keys` is empty.
 */
export function requireKeysOffLoopback(host: string, keys: readonly string[], field: string): void {
  if (keys.length === 0 && !isLoopbackHost(host)) {
    throw new ConfigError([
      `${field}: listening on ${host} accepts data from other machines; set at least one API key (16+ characters), or listen on 127.0.0.1`,
    ]);
  }
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}
