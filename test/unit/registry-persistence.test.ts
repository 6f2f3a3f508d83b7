import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { avroSchemas } from "../../schemas/index.js";

function avro(schema: object): { type: SchemaType.AVRO; schema: string } {
  return { type: SchemaType.AVRO, schema: JSON.stringify(schema) };
}

import { REGISTRY_FILE, SchemaRegistryServer } from "../../streams/serde/index.js";

let dataDir: string;
const servers: SchemaRegistryServer[] = [];

async function startRegistry(port = 0): Promise<{ server: SchemaRegistryServer; client: SchemaRegistry }> {
  const server = new SchemaRegistryServer({ dataDir, port });
  servers.push(server);
  const url = await server.start();
  return { server, client: new SchemaRegistry({ host: url }) };
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "spikemesh-registry-persist-"));
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("embedded schema registry persistence", () => {
  it("keeps subjects, versions, ids and levels across a restart", async () => {
    const first = await startRegistry();
    const telemetry = await first.client.register(avro(avroSchemas.TelemetryEvent), {
      subject: "telemetry.raw-value",
    });
    const logs = await first.client.register(avro(avroSchemas.LogEvent), { subject: "logs.raw-value" });
    const shared = await first.client.register(avro(avroSchemas.TelemetryEvent), {
      subject: "telemetry.copy-value",
    });
    expect(shared.id).toBe(telemetry.id);
    const put = await fetch(`${first.server.url}/config`, {
      method: "PUT",
      body: JSON.stringify({ compatibility: "FULL" }),
    });
    expect(put.status).toBe(200);
    const bytes = await first.client.encode(telemetry.id, {
      ts: 1_700_000_000_000,
      source: "host-1",
      metric: "cpu.util",
      value: 0.5,
      tags: {},
    });
    await first.server.close();

    const second = await startRegistry();
    expect(await second.client.getLatestSchemaId("telemetry.raw-value")).toBe(telemetry.id);
    expect(await second.client.getLatestSchemaId("logs.raw-value")).toBe(logs.id);
    expect(
      await second.client.getRegistryIdBySchema("telemetry.copy-value", avro(avroSchemas.TelemetryEvent)),
    ).toBe(telemetry.id);
    expect(await second.client.decode(bytes)).toMatchObject({ source: "host-1", value: 0.5 });
    const level = await fetch(`${second.server.url}/config`).then((r) => r.json());
    expect(level).toEqual({ compatibilityLevel: "FULL" });

    // New schemas continue the id sequence rather than reusing ids.
    const next = await second.client.register(avro(avroSchemas.Feedback), { subject: "feedback-value" });
    expect(next.id).toBeGreaterThan(Math.max(telemetry.id, logs.id));
  });

  it("writes one JSON file atomically and leaves no temp files", async () => {
    const { client } = await startRegistry();
    await Promise.all(
      (["ControlAction", "Feedback", "RouteWeight", "SpikeRecord"] as const).map((name) =>
        client.register(avro(avroSchemas[name]), { subject: `${name}-value` }),
      ),
    );
    expect(await readdir(dataDir)).toEqual([REGISTRY_FILE]);
    const state = JSON.parse(await readFile(join(dataDir, REGISTRY_FILE), "utf8"));
    expect(state.schemas).toHaveLength(4);
    expect(new Set(state.schemas.map((s: { id: number }) => s.id)).size).toBe(4);
  });

  it("refuses to start on a corrupt state file, naming the file", async () => {
    await writeFile(join(dataDir, REGISTRY_FILE), "{ this is not json");
    const server = new SchemaRegistryServer({ dataDir });
    await expect(server.start()).rejects.toMatchObject({
      code: "LOG_CORRUPT",
      message: expect.stringContaining(REGISTRY_FILE),
    });
  });

  it("reports a port already in use", async () => {
    const { server } = await startRegistry();
    const port = Number(new URL(server.url).port);
    const clash = new SchemaRegistryServer({ dataDir, port });
    await expect(clash.start()).rejects.toMatchObject({ code: "EADDRINUSE" });
  });
});
