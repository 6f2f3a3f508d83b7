import {
  invalidCompatibility,
  invalidSchema,
  RegistryApiError,
  schemaNotFound,
} from "./registry-api-error.js";
import { type CompatibilityLevel, isCompatibilityLevel } from "./registry-compat.js";
import { bodyObject } from "./registry-http.js";
import type { RegistryStore } from "./registry-store.js";

/** What a route handler sees of a request. */
export interface RouteRequest {
  /** Decoded path parameters, e.g. `subject`, `version`, `id`. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body (read on first call). */
  body(): Promise<unknown>;
}

type Handler = (req: RouteRequest, store: RegistryStore) => unknown;

interface Route {
  readonly method: string;
  readonly segments: readonly string[];
  readonly handler: Handler;
}

/** The Confluent Schema Registry API subset the embedded registry serves (Avro only). */
const routes: readonly Route[] = [
  route("GET", "/", () => ({})),
  route("GET", "/schemas/types", () => ["AVRO"]),
  route("GET", "/schemas/ids/:id", (req, store) => ({ schema: store.schemaText(schemaId(req)) })),
  route("GET", "/schemas/ids/:id/schema", (req, store) => JSON.parse(store.schemaText(schemaId(req)))),
  route("GET", "/schemas/ids/:id/versions", (req, store) => store.usesOfSchema(schemaId(req))),
  route("GET", "/subjects", (req, store) => store.subjectNames(flag(req, "deleted"))),
  route("GET", "/subjects/:subject/versions", (req, store) =>
    store.versionNumbers(req.params.subject!, flag(req, "deleted")),
  ),
  route("POST", "/subjects/:subject/versions", async (req, store) => ({
    id: await store.register(req.params.subject!, await schemaFromBody(req)),
  })),
  route("GET", "/subjects/:subject/versions/:version", (req, store) =>
    store.version(req.params.subject!, req.params.version!, flag(req, "deleted")),
  ),
  route("GET", "/subjects/:subject/versions/:version/schema", (req, store) =>
    JSON.parse(store.version(req.params.subject!, req.params.version!, flag(req, "deleted")).schema),
  ),
  route("DELETE", "/subjects/:subject/versions/:version", (req, store) =>
    store.deleteVersion(req.params.subject!, req.params.version!, flag(req, "permanent")),
  ),
  route("POST", "/subjects/:subject", async (req, store) =>
    store.lookup(req.params.subject!, await schemaFromBody(req), flag(req, "deleted")),
  ),
  route("DELETE", "/subjects/:subject", (req, store) =>
    store.deleteSubject(req.params.subject!, flag(req, "permanent")),
  ),
  route("POST", "/compatibility/subjects/:subject/versions/:version", async (req, store) =>
    compatibilityAnswer(
      req,
      store.compatibilityProblems(req.params.subject!, req.params.version!, await schemaFromBody(req)),
    ),
  ),
  route("POST", "/compatibility/subjects/:subject/versions", async (req, store) =>
    compatibilityAnswer(
      req,
      store.compatibilityProblems(req.params.subject!, null, await schemaFromBody(req)),
    ),
  ),
  route("GET", "/config", (_req, store) => ({ compatibilityLevel: store.globalCompatibility })),
  route("PUT", "/config", async (req, store) => {
    const compatibility = await levelFromBody(req);
    await store.setCompatibility(null, compatibility);
    return { compatibility };
  }),
  route("GET", "/config/:subject", (req, store) => ({
    compatibilityLevel: store.subjectCompatibility(req.params.subject!, flag(req, "defaultToGlobal")),
  })),
  route("PUT", "/config/:subject", async (req, store) => {
    const compatibility = await levelFromBody(req);
    await store.setCompatibility(req.params.subject!, compatibility);
    return { compatibility };
  }),
  route("DELETE", "/config/:subject", async (req, store) => ({
    compatibilityLevel: await store.clearCompatibility(req.params.subject!),
  })),
  route("GET", "/mode", () => ({ mode: "READWRITE" })),
  route("GET", "/mode/:subject", () => ({ mode: "READWRITE" })),
];

/** The matched handler and path parameters; 404 for an unknown path, 405 for a known path and wrong method. */
export function matchRoute(
  method: string,
  segments: readonly string[],
): { handler: Handler; params: Record<string, string> } {
  let pathKnown = false;
  for (const candidate of routes) {
    const params = matchSegments(candidate.segments, segments);
    if (!params) continue;
    pathKnown = true;
    if (candidate.method === method) return { handler: candidate.handler, params };
  }
  if (pathKnown)
    throw new RegistryApiError(405, 405, `HTTP 405 Method Not Allowed: ${method} is not served here.`);
  throw new RegistryApiError(404, 404, "HTTP 404 Not Found");
}

function route(method: string, path: string, handler: Handler): Route {
  return { method, segments: path.split("/").filter((s) => s !== ""), handler };
}

function matchSegments(pattern: readonly string[], actual: readonly string[]): Record<string, string> | null {
  if (pattern.length !== actual.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const a = actual[i]!;
    if (p.startsWith(":")) params[p.slice(1)] = a;
    else if (p !== a) return null;
  }
  return params;
}

function flag(req: RouteRequest, name: string): boolean {
  return req.query.get(name) === "true";
}

function schemaId(req: RouteRequest): number {
  const raw = req.params.id!;
  const id = /^\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id)) throw schemaNotFound(raw);
  return id;
}

/** The `schema` string of a register, lookup or compatibility request; Avro only. */
async function schemaFromBody(req: RouteRequest): Promise<string> {
  const body = bodyObject(await req.body(), 'a string field "schema"');
  const schemaType = body.schemaType;
  if (schemaType !== undefined && schemaType !== null && schemaType !== "AVRO") {
    throw invalidSchema(
      `schemaType ${JSON.stringify(schemaType)} is not supported; this registry stores only AVRO schemas.`,
    );
  }
  if (Array.isArray(body.references) && body.references.length > 0) {
    throw invalidSchema("schema references are not supported; inline the referenced types.");
  }
  if (typeof body.schema !== "string") {
    throw invalidSchema('the request body needs a string field "schema" holding the Avro schema JSON.');
  }
  return body.schema;
}

async function levelFromBody(req: RouteRequest): Promise<CompatibilityLevel> {
  const body = bodyObject(await req.body(), 'a field "compatibility"');
  const level =
    typeof body.compatibility === "string" ? body.compatibility.toUpperCase() : body.compatibility;
  if (!isCompatibilityLevel(level)) throw invalidCompatibility(body.compatibility);
  return level;
}

function compatibilityAnswer(req: RouteRequest, problems: readonly string[]): Record<string, unknown> {
  const answer: Record<string, unknown> = { is_compatible: problems.length === 0 };
  if (flag(req, "verbose")) answer.messages = problems;
  return answer;
}
