import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import type { LiveSpike } from "../../cli/live-view/live-feed.js";
import { LiveEvents } from "../helpers/live-events.js";
import { ensureDebianPackage, freePort } from "../helpers/prometheus.js";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;
/** Debian's chromium; playwright-core drives it and downloads no browser of its own. */
const CHROMIUM = "/usr/bin/chromium";
const SOURCE = `agent-e2e-${process.pid}`;
const INTERVAL_MS = 500;
/** The SNN filter's default warm-up: no spike from a key before this many samples. */
const WARMUP_SAMPLES = 30;
/** Samples of the steady part watched before the storm. */
const STEADY_SAMPLES = 30;

/**
 * A real disk write storm, bounded: 8 MiB writes, each followed by fdatasync, cycling over a
 * 256 MiB file, for at most 60 s or 4 GiB (the test kills it as soon as it has what it needs).
 */
const STORM = `
const fs = require("node:fs");
const fd = fs.openSync(process.argv[1], "w");
const chunk = Buffer.alloc(8 << 20, 0x5a);
const until = Date.now() + 60000;
let offset = 0, total = 0;
while (total < 4 * 2 ** 30 && Date.now() < until) {
  fs.writeSync(fd, chunk, 0, chunk.length, offset);
  fs.fdatasyncSync(fd);
  offset = (offset + chunk.length) % (256 << 20);
  total += chunk.length;
}
fs.closeSync(fd);
`;

async function until<T>(
  what: string,
  bound: number,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + bound;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${bound / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function exited(child: ChildProcess, killAfterMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe("host agent in the demo: a disk write storm on this machine", { timeout: 420_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "spikemesh-agent-e2e-"));
  const children: ChildProcess[] = [];
  const sse = new AbortController();
  let browser: Browser | undefined;

  afterAll(async () => {
    sse.abort();
    await browser?.close();
    for (const child of children) {
      child.kill(child.spawnargs.includes("demo") ? "SIGINT" : "SIGKILL");
      await exited(child, 20_000);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows up as spikes from the host's disk metrics in the live view and the summary", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const demo = spawn(
      process.execPath,
      [
        "--import",
        TSX,
        MAIN,
        "--data-dir",
        join(dir, "data"),
        "demo",
        "--duration",
        "30m",
        "--hosts",
        "3",
        "--agent",
        "--agent-interval",
        `${INTERVAL_MS}ms`,
        "--agent-source",
        SOURCE,
        "--metrics-port",
        String(port),
        "--metrics-host",
        "127.0.0.1",
        "--json",
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(demo);
    let stdout = "";
    let stderr = "";
    demo.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    demo.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-20_000)));
    const alive = () => {
      if (demo.exitCode !== null) throw new Error(`demo exited (${demo.exitCode}):\n${stderr}`);
    };
    const agentSamples = async () => {
      const text = await fetch(`${base}/metrics`).then(
        (r) => r.text(),
        () => "",
      );
      const m = /^spikemesh_agent_samples_total (\d+)/m.exec(text);
      return m ? Number(m[1]) : 0;
    };

    await until("live view served", 120_000, async () => {
      alive();
      return (await fetch(base).then(
        (r) => r.ok,
        () => false,
      ))
        ? true
        : undefined;
    });
    const live = new LiveEvents(`${base}/live/events`, sse.signal);
    // The page itself, as a user would have it open through the storm.
    ensureDebianPackage("chromium", () => existsSync(CHROMIUM));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(base);
    const diskSpikes = (from: number, to: number): LiveSpike[] =>
      live.spikes
        .filter((s) => s.row.startsWith(`${SOURCE} disk.`) && s.t >= from && s.t < to)
        .sort((x, y) => x.t - y.t);

    // The steady part: the demo's history is replayed (its own disk writes done) and every agent
    // key is past its warm-up, so what follows is the host at its ordinary background activity.
    await until("demo live with the agent warmed up", 180_000, async () => {
      alive();
      return /(^|\n)live: /.test(stderr) && (await agentSamples()) >= WARMUP_SAMPLES + 4 ? true : undefined;
    });
    // The replayed history sits in the page cache until the kernel writes it back (about 30 s
    // later): flush it now, and let the flush's own writes go by, so it does not land in the steady part.
    expect(spawnSync("sync").status).toBe(0);
    const synced = await agentSamples();
    await until("samples after the sync", 60_000, async () => {
      alive();
      return (await agentSamples()) >= synced + 4 ? true : undefined;
    });
    const steadyFrom = Date.now();
    const steadySamplesFrom = await agentSamples();
    await until("steady samples", 120_000, async () => {
      alive();
      return (await agentSamples()) >= steadySamplesFrom + STEADY_SAMPLES ? true : undefined;
    });

    const stormFrom = Date.now();
    const storm = spawn(process.execPath, ["-e", STORM, join(dir, "storm.bin")], { stdio: "ignore" });
    children.push(storm);
    const first = await until("a disk spike from the agent's source after the storm began", 90_000, () => {
      alive();
      return diskSpikes(stormFrom, Number.POSITIVE_INFINITY)[0];
    });
    // The page got it too: the spike is in the page's data and the raster draws dots.
    // (Page-side code is passed as text: this project compiles without the DOM library.)
    await page.waitForFunction(
      `spikes.some((s) => s.row === ${JSON.stringify(first.row)} && s.t === ${first.t}) &&
       Number(document.getElementById("raster").dataset.dots) > 0`,
      undefined,
      { timeout: 30_000 },
    );
    storm.kill("SIGKILL");
    await exited(storm, 10_000);
    expect(live.failure).toBeUndefined();
    sse.abort();
    await live.closed();

    demo.kill("SIGINT");
    expect(await exited(demo, 90_000), stderr).toBe(0);
    const summary = JSON.parse(stdout) as {
      spikesBySource: Record<string, Record<string, number>>;
      agent: { samples: number; telemetryRecords: number; errors: number };
    };

    // Live view: the storm's spike is on a disk metric of this host, stamped after the storm began.
    expect(first.row).toMatch(
      new RegExp(`^${SOURCE} disk\\.(write_bytes_per_s|busy_ratio|read_bytes_per_s)#\\d+$`),
    );
    expect(first.t).toBeGreaterThanOrEqual(stormFrom);
    // Summary (read back from the topics after the drain): spikes per source include the host's disk spikes.
    const host = summary.spikesBySource[SOURCE] ?? {};
    const hostDisk = Object.entries(host)
      .filter(([metric]) => metric.startsWith("disk."))
      .reduce((n, [, count]) => n + count, 0);
    expect(hostDisk, JSON.stringify(host)).toBeGreaterThan(0);
    expect(summary.agent.samples).toBeGreaterThanOrEqual(WARMUP_SAMPLES + STEADY_SAMPLES);
    expect(summary.agent.errors).toBe(0);
    // The steady part before the storm: few disk spikes, and none as strong as the storm's.
    // Not none: the agent watches the whole machine, which other processes share (other test runs,
    // compilers), and their real I/O bursts spike too. One burst fires a key's neurons on successive
    // samples, so spikes are grouped into bursts (a gap over 2 intervals starts a new one) and at
    // most one burst is allowed.
    const steady = diskSpikes(steadyFrom, stormFrom);
    const bursts = steady.filter((s, i) => i === 0 || s.t - steady[i - 1]!.t > 2 * INTERVAL_MS).length;
    expect(bursts, JSON.stringify(steady)).toBeLessThanOrEqual(1);
    const stormPeak = Math.max(...diskSpikes(stormFrom, Number.POSITIVE_INFINITY).map((s) => s.intensity));
    for (const s of steady) expect(s.intensity, JSON.stringify(s)).toBeLessThan(stormPeak);
  });
});
