import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HttpBackend,
  httpBackendOptionsSchema,
  MODEL_VERDICTS,
} from "../../processors/escalation-tier/index.js";
import { reasoningRequest } from "../helpers/reasoning-request.js";
import { tinyModelPath } from "../helpers/tiny-model.js";
import { tempDir } from "../unit/helpers/temp-dir.js";
import { runCli } from "./run-cli.js";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

let dir: { dir: string; remove(): Promise<void> };
beforeAll(async () => {
  dir = await tempDir("spikemesh-serve-");
});
afterAll(async () => {
  await dir.remove();
});

describe("spikemesh serve-model", () => {
  it("serves the tiny model over HTTP to the http backend, and stops on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        TSX,
        MAIN,
        "serve-model",
        "--model",
        tinyModelPath(),
        "--port",
        "0",
        "--threads",
        "1",
        "--name",
        "tiny",
      ],
      { cwd: dir.dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`no URL within 60 s; stderr: ${stderr}`)), 60_000);
        child.stdout.setEncoding("utf8").on("data", (d: string) => {
          out += d;
          const m = /serving .* on (http:\/\/\S+\/v1) \(4 sequences\)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.on("close", () => reject(new Error(`exited early: ${stderr}`)));
      });
      const backend = new HttpBackend(
        httpBackendOptionsSchema.parse({ kind: "http", baseUrl: url, model: "tiny" }),
        "deepseek",
      );
      await backend.open();
      const answer = await backend.answer(reasoningRequest(), new AbortController().signal);
      expect(MODEL_VERDICTS).toContain(answer.verdict);
      const metrics = await (await fetch(url.replace(/\/v1$/, "/metrics"))).text();
      expect(metrics).toMatch(/spikemesh_serve_model_requests_total\{outcome="ok"\} 1/);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });

  it("reports a corrupt model file clearly, with exit code 2", async () => {
    const bad = join(dir.dir, "bad.gguf");
    writeFileSync(bad, readFileSync(tinyModelPath()).subarray(0, 64));
    const res = await runCli(["serve-model", "--model", bad, "--port", "0", "--threads", "1"], {
      cwd: dir.dir,
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(
      /--model: llama\.cpp could not load .*bad\.gguf: .*\(is the file truncated or corrupt/,
    );
    expect(res.stderr).not.toMatch(/at .*\.ts:\d+/);
  });
});
