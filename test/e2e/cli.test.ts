import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../unit/helpers/temp-dir.js";
import { runCli } from "./run-cli.js";

// Each spawn runs the real command through tsx (about 2 s on 2 cores), so the cases share a data
// directory and run in order: produce → consume → topics.
describe("spikemesh CLI (real process)", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("spikemesh-cli-"));
  });
  afterAll(async () => {
    await remove();
  });

  it("rejects bad configuration naming the field, with exit code 2", async () => {
    await writeFile(join(dir, "spikemesh.yaml"), "runner:\n  partitions: 0\n  guarantee: sometimes\n");
    const result = await runCli(["config", "print"], {
      cwd: dir,
      env: { SPIKEMESH_MAX_RECORD_BYTES: "-5" },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("runner.partitions");
    expect(result.stderr).toContain("runner.guarantee");
    expect(result.stderr).toContain("maxRecordBytes");
    await writeFile(join(dir, "spikemesh.yaml"), "logLevel: warn\n");
  });

  it("produces JSON lines, stops at a bad line naming its number, and consume decodes what was produced", async () => {
    const lines = [
      { ts: "2026-11-23T10:00:00Z", source: "web-1", metric: "cpu.util", value: 42.5 },
      { ts: 1_795_428_010_000, source: "web-2", metric: "cpu.util", value: "17", tags: { dc: "a" } },
      { ts: 1_795_428_020_000, source: "web-2", metric: "cpu.util", value: "not-a-number" },
      { ts: 1_795_428_030_000, source: "web-3", metric: "cpu.util", value: 1 },
    ];
    const input = `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`;
    const produced = await runCli(["produce", "telemetry.raw"], { cwd: dir, input });
    expect(produced.code).toBe(2);
    expect(produced.stderr).toMatch(/line 3: field "value": "not-a-number" is not a number/);
    expect(produced.stderr).toContain("the 2 record(s) before it were produced");

    const consumed = await runCli(["consume", "telemetry.raw", "--value-only"], { cwd: dir });
    expect(consumed.code).toBe(0);
    const values = consumed.stdout
      .trim()
      .split("\n")
      .map(
        (l) => JSON.parse(l) as { source: string; ts: number; value: number; tags: Record<string, string> },
      )
      .sort((a, b) => a.ts - b.ts);
    expect(values).toEqual([
      { ts: Date.parse("2026-11-23T10:00:00Z"), source: "web-1", metric: "cpu.util", value: 42.5, tags: {} },
      { ts: 1_795_428_010_000, source: "web-2", metric: "cpu.util", value: 17, tags: { dc: "a" } },
    ]);
  });

  it("produces CSV from a file and lists and describes the topic", async () => {
    const csv = join(dir, "samples.csv");
    await writeFile(csv, "ts,source,metric,value,tags\n2026-11-23T11:00:00Z,db-1,mem.used,7.5,env=prod\n");
    const produced = await runCli(["produce", "telemetry.raw", csv], { cwd: dir });
    expect(produced.stderr).toContain("produced 1 spikemesh.TelemetryEvent record(s)");
    expect(produced.code).toBe(0);

    const listed = await runCli(["topics", "list", "--json"], { cwd: dir });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toContainEqual({
      topic: "telemetry.raw",
      partitions: 2,
      records: 3,
      cleanupPolicy: "delete",
    });

    const described = await runCli(["topics", "describe", "telemetry.raw", "--json"], { cwd: dir });
    expect(described.code).toBe(0);
    const d = JSON.parse(described.stdout) as { partitions: { highOffset: number }[] };
    expect(d.partitions.reduce((n, p) => n + p.highOffset, 0)).toBe(3);

    const missing = await runCli(["consume", "no.such.topic"], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no such topic: no.such.topic");
  });

  it("runs a short demo that ends by itself with a summary read from the topics", async () => {
    const result = await runCli(["demo", "--duration", "2h", "--json"], { cwd: dir });
    expect(result.stderr).not.toMatch(/"level":50/);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      events: number;
      logLines: number;
      spikes: number;
      suppression: number;
    };
    expect(summary.logLines).toBeGreaterThan(0);
    expect(summary.events).toBe(6 * 4 * 720 + summary.logLines);
    expect(summary.spikes).toBeGreaterThan(0);
    expect(summary.suppression).toBeCloseTo(1 - summary.spikes / summary.events, 10);
  });
});
