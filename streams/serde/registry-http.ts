import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest, RegistryApiError } from "./registry-api-error.js";

/** Content type of every registry response (and accepted for requests), as Confluent's. */
export const REGISTRY_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

/** Writes `body` as JSON with the registry content type. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": REGISTRY_CONTENT_TYPE,
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Reads and parses a JSON request body of at most `maxBytes`. Throws 413 when it is larger, 400 when
 * it is not JSON, and 400 when it is empty.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") throw badRequest("Request body is empty; expected a JSON object.");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(`Request body is not valid JSON: ${(err as Error).message}`);
  }
}

function tooLarge(maxBytes: number): RegistryApiError {
  return new RegistryApiError(413, 413, `Request body is larger than the limit of ${maxBytes} bytes.`);
}

/** The body as a JSON object, or 422 naming what was expected. */
export function bodyObject(body: unknown, expected: string): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RegistryApiError(422, 422, `Request body must be a JSON object with ${expected}.`);
  }
  return body as Record<string, unknown>;
}
