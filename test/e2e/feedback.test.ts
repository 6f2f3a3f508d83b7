import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Feedback, ReasoningResult } from "../../schemas/index.js";
import { tempDir } from "../unit/helpers/temp-dir.js";
import { runCli } from "./run-cli.js";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

function result(id: string, over: Partial<ReasoningResult> = {}): ReasoningResult {
  return {
    id,
    ts: 1_795_428_000_000,
    tier: "phi2",
    route: "single->phi2",
    source: "web-1",
    model: "phi-2",
    verdict: "ANOMALY",
    confidence: 0.8,
    action: null,
    summary: "cpu pinned",
    latencyMs: 850,
    tokens: 40,
    error: null,
    ...over,
  };
}

const jsonl = (values: unknown[]) => `${values.map((v) => JSON.stringify(v)).join("\n")}\n`;

// Real processes through tsx (a few seconds each on 2 cores); the cases share one data dir, in order.
describe("spikemesh feedback (real process)", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, remove } = await tempDir("spikemesh-feedback-"));
    const produced = await runCli(["produce", "reasoning.results"], {
      cwd: dir,
      input: jsonl([
        result("req-a"),
        result("req-b", { tier: "deepseek", route: "correlated->deepseek", latencyMs: 4000 }),
      ]),
    });
    expect(produced.code, produced.stderr).toBe(0);
    // The feedback topic exists in a running mesh; here an empty produce creates it.
    expect((await runCli(["produce", "feedback"], { cwd: dir, input: "" })).code).toBe(0);
  });
  afterAll(async () => {
    await remove();
  });

  it("publishes an operator's judgement of a request as Feedback keyed by its route", async () => {
    const useful = await runCli(["feedback", "req-b", "useful"], { cwd: dir });
    expect(useful.code, useful.stderr).toBe(0);
    expect(JSON.parse(useful.stdout)).toMatchObject({
      requestId: "req-b",
      route: "correlated->deepseek",
      tier: "deepseek",
      outcome: "USEFUL",
      reward: 1,
      latencyMs: 4000,
    });
    const wrong = await runCli(["feedback", "req-a", "WRONG"], { cwd: dir });
    expect(wrong.code, wrong.stderr).toBe(0);
    const consumed = await runCli(["consume", "feedback"], { cwd: dir });
    const records = consumed.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { key: string; value: Feedback });
    expect(records.map((r) => [r.key, r.value.outcome])).toEqual(
      expect.arrayContaining([
        ["correlated->deepseek", "USEFUL"],
        ["single->phi2", "NOT_USEFUL"],
      ]),
    );
  });

  it("rejects an unknown request with exit code 2", async () => {
    const unknown = await runCli(["feedback", "req-zzz", "useful"], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no result for request req-zzz on reasoning\.results \(2 read\)/);
  });

  it("serves POST /feedback, and `feedback --url` posts to it", async () => {
    const child = spawn(process.execPath, ["--import", TSX, MAIN, "feedback", "--serve", "--port", "0"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => {
          out += d;
          const m = /feedback endpoint on (http:\/\/\S+)\/feedback/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on("close", () => reject(new Error(`exited early: ${stderr}`)));
      });
      const post = (body: unknown) =>
        fetch(`${url}/feedback`, {
          method: "POST",
          body: JSON.stringify(body),
          headers: { "content-type": "application/json" },
        });
      const accepted = await post({ requestId: "req-a", judgement: "useful" });
      expect(accepted.status).toBe(202);
      expect(((await accepted.json()) as { feedback: Feedback }).feedback).toMatchObject({
        route: "single->phi2",
        outcome: "USEFUL",
      });
      expect((await post({ requestId: "nope", judgement: "useful" })).status).toBe(404);
      expect((await post({ requestId: "req-a", judgement: "maybe" })).status).toBe(400);
      const viaCli = await runCli(["feedback", "req-b", "wrong", "--url", url], { cwd: dir });
      expect(viaCli.code, viaCli.stderr).toBe(0);
      expect(JSON.parse(viaCli.stdout)).toMatchObject({ requestId: "req-b", outcome: "NOT_USEFUL" });
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
