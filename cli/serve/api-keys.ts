import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/**
 * The API keys an HTTP endpoint accepts. Keys are kept as SHA-256 digests and a presented key is
 * compared with every one of them by `crypto.timingSafeEqual` over digests (equal lengths whatever
 * was sent, no early exit), so response time says nothing about how much of a key was right.
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

  /** The key of a request: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
  static fromRequest(req: IncomingMessage): string | undefined {
    const auth = req.headers.authorization;
    if (typeof auth === "string") {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (match) return match[1];
    }
    const header = req.headers["x-api-key"];
    return typeof header === "string" ? header.trim() : undefined;
  }
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}
