import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyRecording } from "../../streams/replay/index.js";
import { tempDir } from "../unit/helpers/temp-dir.js";
import { runCli } from "./run-cli.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/recordings/demo-2h.smrec", import.meta.url));
const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

describe("record, replay and inspect commands (real processes)", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, remove } = await tempDir("spikemesh-record-cli-"));
  });
  afterAll(async () => {
    await remove();
  });

  it("replays a fixture, records it back under Ctrl-C into a valid file, and inspects it", async () => {
    const replayed = await runCli(["replay", FIXTURE, "--map", "telemetry.raw=t2"], { cwd: dir });
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stderr).toContain("replayed 17280 record(s): t2 17280");

    const out = join(dir, "back.smrec");
    const child = spawn(
      process.execPath,
      ["--import", TSX, MAIN, "record", "--topics", "t2", "--out", out, "--follow"],
      {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    let stderr = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        if (/recorded \d/.test(stderr)) resolve();
      });
      child.on("close", () => reject(new Error(`record exited early: ${stderr}`)));
    });
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    // However far it got before Ctrl-C, the file holds exactly what it says it recorded.
    const recorded = Number(/recorded (\d+) record\(s\) from t2/.exec(stderr)?.[1]);
    expect(recorded).toBeGreaterThan(0);
    expect(verifyRecording(out)).toEqual({ records: recorded });

    const inspected = await runCli(["inspect", out, "--json", "--sample", "1"], { cwd: dir });
    expect(inspected.code).toBe(0);
    const report = JSON.parse(inspected.stdout) as {
      records: number;
      topics: { topic: string; records: number; partitions: number }[];
      schemas: { name: string }[];
      sample: { value: { metric: string } }[];
    };
    expect(report.records).toBe(recorded);
    expect(report.topics).toEqual([expect.objectContaining({ topic: "t2", records: recorded })]);
    expect(report.schemas.map((s) => s.name)).toEqual(["TelemetryEvent"]);
    expect(typeof report.sample[0]!.value.metric).toBe("string");
  });

  it("refuses a truncated recording naming the byte offset, and --salvage replays its valid prefix", async () => {
    const whole = readFileSync(FIXTURE);
    const cut = join(dir, "cut.smrec");
    writeFileSync(cut, whole.subarray(0, whole.length - 100));
    const refused = await runCli(["replay", cut, "--data-dir", join(dir, "salvage")], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/truncated block .* at byte offset \d+; nothing was replayed/);

    const salvaged = await runCli(["replay", cut, "--salvage", "--data-dir", join(dir, "salvage")], {
      cwd: dir,
    });
    expect(salvaged.code).toBe(0);
    expect(salvaged.stderr).toMatch(/stopped at the damage at byte offset \d+/);
    const sent = Number(/replayed (\d+) record/.exec(salvaged.stderr)?.[1]);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(17_280);
  });
});
