import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../cli/config.js";
import { waitForDrain } from "../../cli/demo/drain.js";
import { TelemetryGenerator } from "../../cli/demo/telemetry-generator.js";
import { MESH_TOPICS, meshTopology } from "../../cli/mesh-topology.js";
import { openRuntime } from "../../cli/runtime.js";
import { recordTypes } from "../../schemas/index.js";
import { readToEnd, TopologyRunner } from "../../streams/index.js";
import { silentLogger } from "../../streams/logger.js";
import { tempDir } from "../unit/helpers/temp-dir.js";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function dataDir(): Promise<string> {
  const { dir, remove } = await tempDir("spikemesh-run-");
  cleanups.push(remove);
  return dir;
}

const configFor = (dir: string) => loadConfig({ env: {}, flags: { dataDir: dir } });

async function produceTelemetry(dir: string): Promise<number> {
  const runtime = await openRuntime(configFor(dir), silentLogger());
  try {
    const generator = new TelemetryGenerator({ durationMs: 2 * 3_600_000, hosts: 4 });
    const producer = runtime.transport.producer();
    await runtime.transport.admin().createTopics([{ name: MESH_TOPICS.telemetry, partitions: 2 }]);
    for (const batch of generator.batches(1_000)) {
      const records = [];
      for (const e of batch) {
        const value = await runtime.codec.encode(MESH_TOPICS.telemetry, recordTypes.TelemetryEvent, e);
        records.push({ topic: MESH_TOPICS.telemetry, key: Buffer.from(e.source), value, timestampMs: e.ts });
      }
      await producer.send(records);
    }
    await producer.close();
    return generator.totalEvents;
  } finally {
    await runtime.close();
  }
}

/** Runs the mesh in-process until drained; returns the spikes topic as sorted "key value-hex" lines. */
async function drainAndReadSpikes(dir: string): Promise<string[]> {
  const config = configFor(dir);
  const runtime = await openRuntime(config, silentLogger());
  try {
    const topology = meshTopology({
      appId: config.appId,
      partitions: 2,
      options: { router: { idleFlushMs: 200 } },
    });
    const runner = new TopologyRunner(topology, {
      transport: runtime.transport,
      codec: runtime.codec,
      logger: silentLogger(),
    });
    await runner.start();
    try {
      await Promise.race([waitForDrain(runtime.transport, topology), runner.crashed]);
    } finally {
      await runner.stop();
    }
    const spikes: string[] = [];
    await readToEnd(runtime.transport, MESH_TOPICS.spikes, "all", "test-read-spikes", (rec) => {
      spikes.push(`${rec.key?.toString()} ${rec.value?.toString("hex")}`);
    });
    return spikes.sort();
  } finally {
    await runtime.close();
  }
}

describe("spikemesh run: graceful shutdown on SIGTERM (real process)", { timeout: 120_000 }, () => {
  it("finishes in-flight records, commits, exits 0, and a restart loses and repeats nothing", async () => {
    const interrupted = await dataDir();
    const events = await produceTelemetry(interrupted);

    const child = spawn(process.execPath, ["--import", TSX, MAIN, "run", "--data-dir", interrupted], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await new Promise<void>((resolve, reject) => {
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        // Stop as soon as records are flowing, so the signal lands while batches are in flight.
        if (stderr.includes("running; Ctrl-C")) resolve();
      });
      child.on("close", () => reject(new Error(`run exited before it was running:\n${stderr}`)));
    });
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toContain("topology stopped");

    // What the stopped process committed is a consistent prefix: finishing the run from there must
    // give exactly the spikes of an uninterrupted run over the same input.
    const resumed = await drainAndReadSpikes(interrupted);
    const clean = await dataDir();
    expect(await produceTelemetry(clean)).toBe(events);
    const uninterrupted = await drainAndReadSpikes(clean);
    expect(uninterrupted.length).toBeGreaterThan(0);
    expect(resumed).toEqual(uninterrupted);
  });
});
