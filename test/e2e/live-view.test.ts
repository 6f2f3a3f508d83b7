import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDebianPackage, freePort } from "../helpers/prometheus.js";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;
/** Debian's chromium; playwright-core drives it and downloads no browser of its own. */
const CHROMIUM = "/usr/bin/chromium";

describe("live view in headless Chromium", { timeout: 240_000 }, () => {
  let dir: string;
  let demo: ChildProcess | undefined;
  let browser: Browser | undefined;
  let output = "";
  let url: string;

  beforeAll(async () => {
    ensureDebianPackage("chromium", () => existsSync(CHROMIUM));
    dir = mkdtempSync(join(tmpdir(), "spikemesh-live-"));
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    demo = spawn(
      process.execPath,
      [
        "--import",
        TSX,
        MAIN,
        "--data-dir",
        join(dir, "data"),
        "demo",
        "--duration",
        "1h",
        "--hosts",
        "3",
        "--keep-running",
        "--metrics-port",
        String(port),
        "--metrics-host",
        "127.0.0.1",
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    demo.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
    demo.stderr!.setEncoding("utf8").on("data", (d: string) => (output = (output + d).slice(-20_000)));
    const until = Date.now() + 120_000;
    while (
      !(await fetch(url).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (demo.exitCode !== null) throw new Error(`demo exited (${demo.exitCode}):\n${output}`);
      if (Date.now() > until) throw new Error(`live view not served after 120 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    if (demo && demo.exitCode === null && demo.signalCode === null) {
      const exited = new Promise<void>((resolve) => demo!.once("exit", () => resolve()));
      demo.kill("SIGINT");
      const timer = setTimeout(() => demo!.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("draws spikes on the raster, tier activity and route weights while the demo runs", async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url);
    // Spikes stream in over server-sent events and land on the raster as dots.
    // (Page-side code is passed as text: this project compiles without the DOM library.)
    await page.waitForFunction(
      `Number(document.getElementById("spike-count").dataset.count) > 0 &&
       Number(document.getElementById("raster").dataset.dots) > 0`,
      undefined,
      { timeout: 120_000 },
    );
    // Results follow the spikes through the tiers; weights follow the feedback.
    await page.waitForSelector("#tiers [data-tier]", { timeout: 120_000 });
    await page.waitForSelector("#weights [data-route]", { timeout: 120_000 });
    expect(demo!.exitCode, output).toBeNull();
    expect(await page.textContent("#status")).toBe("live");

    // The raster really shows them: spike-coloured pixels on the canvas, and in a screenshot.
    const spikePixels = await page.evaluate<number>(`(() => {
      const canvas = document.getElementById("raster");
      const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] > 200 && data[i + 1] > 90 && data[i + 2] < 120) n++;
      return n;
    })()`);
    expect(spikePixels).toBeGreaterThan(0);
    const shot = await page.locator("#raster").screenshot({ path: join(dir, "raster.png") });
    expect(shot.length).toBeGreaterThan(1000);
    const tiers = await page.$$eval("#tiers [data-tier]", (els) =>
      els.map((e) => e.getAttribute("data-tier")),
    );
    expect(tiers.length).toBeGreaterThan(0);
    const weights = await page.$$eval("#weights [data-route]", (els) =>
      els.map((e) => e.getAttribute("data-route")),
    );
    expect(weights.every((w) => w?.includes("->"))).toBe(true);
  });
});
