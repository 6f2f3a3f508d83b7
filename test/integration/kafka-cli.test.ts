import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "../e2e/run-cli.js";
import { tempDir } from "../unit/helpers/temp-dir.js";

// The same commands as on the embedded runtime, pointed at the real broker with --brokers. The
// registry is a standalone `spikemesh registry` process, so separate commands share schema ids.
describe("spikemesh CLI on Kafka (real broker, real processes)", { timeout: 180_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let registry: ReturnType<typeof startRegistry> extends Promise<infer R> ? R : never;
  const topic = `cli-telemetry-${process.pid}`;
  const brokers = () => ["--brokers", inject("kafkaBrokers")];

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("spikemesh-kafka-cli-"));
    registry = await startRegistry(dir);
  });
  afterAll(async () => {
    await registry?.stop();
    await remove();
  });

  it("produces, consumes and describes through Kafka with a shared registry", async () => {
    const common = [...brokers(), "--registry", registry.url, "--log-level", "error"];
    const lines = [1, 2, 3].map((i) =>
      JSON.stringify({ ts: 1_795_428_000_000 + i, source: `web-${i}`, metric: "cpu.util", value: i * 10 }),
    );
    const produced = await runCli(["produce", topic, "--type", "TelemetryEvent", ...common], {
      cwd: dir,
      input: `${lines.join("\n")}\n`,
    });
    expect(produced.stderr).toContain(`produced 3 spikemesh.TelemetryEvent record(s) from stdin to ${topic}`);
    expect(produced.code).toBe(0);

    const consumed = await runCli(["consume", topic, "--value-only", "--max", "3", ...common], { cwd: dir });
    expect(consumed.code).toBe(0);
    const values = consumed.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { source: string; value: number });
    expect(values.map((v) => `${v.source}=${v.value}`).sort()).toEqual(["web-1=10", "web-2=20", "web-3=30"]);

    const described = await runCli(["topics", "describe", topic, "--json", ...common], { cwd: dir });
    expect(described.code).toBe(0);
    const d = JSON.parse(described.stdout) as { partitions: { highOffset: number }[] };
    expect(d.partitions.reduce((n, p) => n + p.highOffset, 0)).toBe(3);
  });

  it("runs the demo against the broker and refuses leftover topics without --reset", async () => {
    const args = ["demo", "--duration", "1h", "--json", ...brokers(), "--log-level", "error"];
    const first = await runCli([...args, "--reset"], { cwd: dir });
    expect(first.stderr).not.toContain('"level":50');
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout) as {
      events: number;
      logLines: number;
      spikes: number;
      deadLetters: object;
    };
    // 6 hosts × 4 metrics × 360 samples of telemetry, plus the hosts' log lines.
    expect(summary.events - summary.logLines).toBe(6 * 4 * 360);
    expect(summary.logLines).toBeGreaterThan(0);
    expect(summary.deadLetters).toEqual({});

    const again = await runCli(args, { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("pass --reset");
  });
});

async function startRegistry(cwd: string): Promise<{ url: string; stop(): Promise<void> }> {
  const { spawn } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const main = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
  const tsx = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;
  const child = spawn(process.execPath, ["--import", tsx, main, "registry", "--port", "0"], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on("close", (code) => reject(new Error(`spikemesh registry exited with ${code} before listening`)));
  });
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
