import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REGISTRY_CONTENT_TYPE, SchemaRegistryServer } from "../../streams/serde/index.js";

/** A record schema named `name` with the given extra fields after a required string `id`. */
function recordSchema(name: string, extra: object[] = []): string {
  return JSON.stringify({
    type: "record",
    name,
    namespace: "spikemesh.test",
    fields: [{ name: "id", type: "string" }, ...extra],
  });
}

const withDefault = (field: string) => ({ name: field, type: "string", default: "" });
const required = (field: string) => ({ name: field, type: "string" });

let dataDir: string;
let server: SchemaRegistryServer;
let url: string;

interface Reply {
  status: number;
  body: unknown;
  contentType: string | null;
}

async function api(method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { "Content-Type": REGISTRY_CONTENT_TYPE },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json(), contentType: res.headers.get("content-type") };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "spikemesh-registry-"));
  server = new SchemaRegistryServer({ dataDir, maxBodyBytes: 64 * 1024 });
  url = await server.start();
});

afterAll(async () => {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("embedded schema registry over HTTP", () => {
  it("listens on an ephemeral loopback port", () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(url).port)).toBeGreaterThan(0);
  });

  it("registers, looks up, serves latest, by version and by id", async () => {
    const schema = recordSchema("Basic");
    const reg = await api("POST", "/subjects/basic-value/versions", { schema });
    expect(reg.status).toBe(200);
    expect(reg.contentType).toBe(REGISTRY_CONTENT_TYPE);
    const { id } = reg.body as { id: number };
    expect(id).toBeGreaterThan(0);

    const lookup = await api("POST", "/subjects/basic-value", { schema });
    expect(lookup.body).toEqual({ subject: "basic-value", id, version: 1, schema });

    expect((await api("GET", "/subjects/basic-value/versions/latest")).body).toEqual(lookup.body);
    expect((await api("GET", "/subjects/basic-value/versions/1")).body).toEqual(lookup.body);
    expect((await api("GET", "/subjects/basic-value/versions")).body).toEqual([1]);
    expect((await api("GET", `/schemas/ids/${id}`)).body).toEqual({ schema });
    expect((await api("GET", `/schemas/ids/${id}/versions`)).body).toEqual([
      { subject: "basic-value", version: 1 },
    ]);
    expect((await api("GET", "/subjects/basic-value/versions/1/schema")).body).toEqual(JSON.parse(schema));
    expect((await api("GET", "/subjects")).body).toContain("basic-value");
    expect((await api("GET", "/schemas/types")).body).toEqual(["AVRO"]);
  });

  it("is idempotent per subject and shares ids across subjects", async () => {
    const schema = recordSchema("Shared");
    const first = (await api("POST", "/subjects/shared-a/versions", { schema })).body as { id: number };
    // Same schema with other whitespace and key order: still the same schema.
    const reordered = JSON.stringify(JSON.parse(schema), ["namespace", "name", "type", "fields"], 2);
    const again = (await api("POST", "/subjects/shared-a/versions", { schema: reordered })).body;
    expect(again).toEqual(first);
    expect((await api("GET", "/subjects/shared-a/versions")).body).toEqual([1]);
    const other = (await api("POST", "/subjects/shared-b/versions", { schema, schemaType: "AVRO" })).body;
    expect(other).toEqual(first);
    expect((await api("GET", "/subjects/shared-b/versions/latest")).body).toMatchObject({
      id: first.id,
      version: 1,
    });
  });

  it("answers 404 with Confluent error codes", async () => {
    expect(await api("GET", "/subjects/nope/versions/latest")).toMatchObject({
      status: 404,
      body: { error_code: 40401 },
    });
    expect(await api("POST", "/subjects/nope", { schema: recordSchema("Nope") })).toMatchObject({
      status: 404,
      body: { error_code: 40401 },
    });
    await api("POST", "/subjects/known/versions", { schema: recordSchema("Known") });
    expect(await api("POST", "/subjects/known", { schema: recordSchema("Other") })).toMatchObject({
      status: 404,
      body: { error_code: 40403 },
    });
    expect(await api("GET", "/subjects/known/versions/7")).toMatchObject({
      status: 404,
      body: { error_code: 40402 },
    });
    expect(await api("GET", "/schemas/ids/999999")).toMatchObject({
      status: 404,
      body: { error_code: 40403 },
    });
    expect(await api("GET", "/schemas/ids/abc")).toMatchObject({ status: 404, body: { error_code: 40403 } });
    expect(await api("GET", "/no/such/route")).toMatchObject({ status: 404, body: { error_code: 404 } });
    expect(await api("PATCH", "/subjects")).toMatchObject({ status: 405, body: { error_code: 405 } });
  });

  it("rejects invalid schemas, versions and bodies with 422/400/413", async () => {
    const invalid = await api("POST", "/subjects/bad-value/versions", {
      schema: '{"type":"record","name":"X"}',
    });
    expect(invalid).toMatchObject({ status: 422, body: { error_code: 42201 } });
    expect((invalid.body as { message: string }).message).toMatch(/Invalid schema/);
    expect(await api("POST", "/subjects/bad-value/versions", { schema: "{not json" })).toMatchObject({
      status: 422,
      body: { error_code: 42201 },
    });
    const proto = await api("POST", "/subjects/bad-value/versions", {
      schema: "syntax = 'proto3';",
      schemaType: "PROTOBUF",
    });
    expect(proto).toMatchObject({ status: 422, body: { error_code: 42201 } });
    expect((proto.body as { message: string }).message).toMatch(/only AVRO/);
    expect(await api("POST", "/subjects/bad-value/versions", { nothing: 1 })).toMatchObject({
      status: 422,
      body: { error_code: 42201 },
    });
    expect(await api("GET", "/subjects/known/versions/zero")).toMatchObject({
      status: 422,
      body: { error_code: 42202 },
    });
    const badJson = await api("POST", "/subjects/bad-value/versions", "{ nope");
    expect(badJson).toMatchObject({ status: 400, body: { error_code: 400 } });
    expect((badJson.body as { message: string }).message).toMatch(/not valid JSON/);
    const huge = await api("POST", "/subjects/bad-value/versions", { schema: "x".repeat(100 * 1024) });
    expect(huge).toMatchObject({ status: 413, body: { error_code: 413 } });
    expect((await api("GET", "/subjects")).body).not.toContain("bad-value");
  });

  it("enforces BACKWARD by default and answers 409 for incompatible changes", async () => {
    const v1 = recordSchema("Evolving");
    await api("POST", "/subjects/evolving/versions", { schema: v1 });
    const v2 = recordSchema("Evolving", [withDefault("unit")]);
    expect((await api("POST", "/subjects/evolving/versions", { schema: v2 })).status).toBe(200);
    const v3 = recordSchema("Evolving", [withDefault("unit"), required("owner")]);
    const refused = await api("POST", "/subjects/evolving/versions", { schema: v3 });
    expect(refused).toMatchObject({ status: 409, body: { error_code: 409 } });
    expect((refused.body as { message: string }).message).toMatch(/owner/);
    expect((await api("GET", "/subjects/evolving/versions")).body).toEqual([1, 2]);

    const check = await api("POST", "/compatibility/subjects/evolving/versions/latest?verbose=true", {
      schema: v3,
    });
    expect(check.body).toMatchObject({ is_compatible: false });
    expect((check.body as { messages: string[] }).messages.join()).toMatch(/owner/);
    expect((await api("POST", "/compatibility/subjects/evolving/versions/1", { schema: v2 })).body).toEqual({
      is_compatible: true,
    });
    expect((await api("POST", "/compatibility/subjects/evolving/versions", { schema: v3 })).body).toEqual({
      is_compatible: false,
    });
  });

  it("reads and sets global and subject compatibility levels", async () => {
    expect((await api("GET", "/config")).body).toEqual({ compatibilityLevel: "BACKWARD" });
    // Confluent answers 40408 for a subject without its own level; the client relies on that 404.
    expect(await api("GET", "/config/levels")).toMatchObject({ status: 404, body: { error_code: 40408 } });
    expect((await api("GET", "/config/levels?defaultToGlobal=true")).body).toEqual({
      compatibilityLevel: "BACKWARD",
    });
    expect((await api("PUT", "/config/levels", { compatibility: "FORWARD" })).body).toEqual({
      compatibility: "FORWARD",
    });
    expect((await api("GET", "/config/levels")).body).toEqual({ compatibilityLevel: "FORWARD" });
    expect(await api("PUT", "/config/levels", { compatibility: "SIDEWAYS" })).toMatchObject({
      status: 422,
      body: { error_code: 42203 },
    });

    // FORWARD: old readers must read new data, so removing a required field is refused, adding one is fine.
    await api("POST", "/subjects/levels/versions", { schema: recordSchema("Levels", [required("a")]) });
    const addRequired = recordSchema("Levels", [required("a"), required("b")]);
    expect((await api("POST", "/subjects/levels/versions", { schema: addRequired })).status).toBe(200);
    const dropA = recordSchema("Levels", [required("b")]);
    expect((await api("POST", "/subjects/levels/versions", { schema: dropA })).status).toBe(409);

    await api("PUT", "/config/levels", { compatibility: "NONE" });
    expect((await api("POST", "/subjects/levels/versions", { schema: dropA })).status).toBe(200);

    expect((await api("DELETE", "/config/levels")).body).toEqual({ compatibilityLevel: "NONE" });
    expect((await api("GET", "/config/levels")).status).toBe(404);

    await api("PUT", "/config", { compatibility: "FULL_TRANSITIVE" });
    expect((await api("GET", "/config")).body).toEqual({ compatibilityLevel: "FULL_TRANSITIVE" });
    await api("PUT", "/config", { compatibility: "BACKWARD" });
  });

  it("checks *_TRANSITIVE levels against every earlier version", async () => {
    await api("PUT", "/config/transitive", { compatibility: "BACKWARD_TRANSITIVE" });
    await api("POST", "/subjects/transitive/versions", { schema: recordSchema("Trans") });
    await api("POST", "/subjects/transitive/versions", { schema: recordSchema("Trans", [withDefault("x")]) });
    // Dropping the default of x is fine against version 2 (which writes x) but not against version 1.
    const v3 = recordSchema("Trans", [required("x")]);
    expect((await api("POST", "/compatibility/subjects/transitive/versions/2", { schema: v3 })).body).toEqual(
      {
        is_compatible: true,
      },
    );
    expect((await api("POST", "/subjects/transitive/versions", { schema: v3 })).status).toBe(409);
  });

  it("soft-deletes and permanently deletes subjects and versions", async () => {
    const schema = recordSchema("Doomed");
    const { id } = (await api("POST", "/subjects/doomed/versions", { schema })).body as { id: number };
    await api("POST", "/subjects/doomed/versions", { schema: recordSchema("Doomed", [withDefault("x")]) });
    expect(await api("DELETE", "/subjects/doomed?permanent=true")).toMatchObject({
      status: 404,
      body: { error_code: 40405 },
    });
    expect((await api("DELETE", "/subjects/doomed/versions/2")).body).toBe(2);
    expect((await api("GET", "/subjects/doomed/versions")).body).toEqual([1]);
    expect((await api("DELETE", "/subjects/doomed")).body).toEqual([1]);
    expect((await api("GET", "/subjects")).body).not.toContain("doomed");
    expect((await api("GET", "/subjects?deleted=true")).body).toContain("doomed");
    expect((await api("GET", "/subjects/doomed/versions/latest")).status).toBe(404);
    expect((await api("DELETE", "/subjects/doomed?permanent=true")).body).toEqual([1, 2]);
    expect((await api("GET", "/subjects?deleted=true")).body).not.toContain("doomed");
    // Schema ids outlive their subjects, so old records still decode.
    expect((await api("GET", `/schemas/ids/${id}`)).body).toEqual({ schema });
    const again = (await api("POST", "/subjects/doomed/versions", { schema })).body;
    expect(again).toEqual({ id });
  });

  it("decodes percent-encoded subject names", async () => {
    const schema = recordSchema("Slashed");
    await api("POST", `/subjects/${encodeURIComponent("team/a-value")}/versions`, { schema });
    expect((await api("GET", "/subjects")).body).toContain("team/a-value");
  });

  it("serves the @kafkajs/confluent-schema-registry client", async () => {
    const client = new SchemaRegistry({ host: url });
    const schema = JSON.parse(recordSchema("ClientSide", [{ name: "n", type: "int" }]));
    const { id } = await client.register(schema, { subject: "client-value" });
    expect(await client.getLatestSchemaId("client-value")).toBe(id);
    expect(await client.getRegistryId("client-value", 1)).toBe(id);
    expect(await client.getRegistryIdBySchema("client-value", schema)).toBe(id);
    // The client pins the subject's level right after its first registration.
    expect((await api("GET", "/config/client-value")).body).toEqual({ compatibilityLevel: "BACKWARD" });
    const bytes = await client.encode(id, { id: "a", n: 7 });
    const fresh = new SchemaRegistry({ host: url });
    expect(await fresh.decode(bytes)).toEqual({ id: "a", n: 7 });
  });

  it("keeps answering after a client sends a raw malformed request", async () => {
    const { port } = new URL(url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: "127.0.0.1", port, method: "POST", path: "/subjects/x/versions" },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(400);
    expect((await api("GET", "/config")).status).toBe(200);
  });
});
