/**
 * What metrics cost the pipeline (issue #8, goal: under 5%): the mesh demo on the embedded runtime,
 * run alternately with metrics on and off in the same process, reporting events/s and the ratio.
 *   on:  a registry with prom-client's default process metrics, every runner and processor metric,
 *        consumer lag sampled every 5 s, /metrics served and scraped every second (as Prometheus
 *        with a 1 s interval would);
 *   off: `disabledMetrics()`: every metric is a no-op, no lag sampling, no server.
 * Usage: node --import tsx bench/metrics-overhead.ts [--reps N] [--hours H]; `npm run bench -- --only
 * metrics` runs the same two sides as a suite of bench/run.ts (`metricsOverheadSuite`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { Registry } from "prom-client";
import { loadConfig } from "../cli/config.js";
import { runDemo } from "../cli/demo/run-demo.js";
import { commandRegistry, MetricsServer } from "../cli/metrics-server.js";
import { openRuntime } from "../cli/runtime.js";
import { disabledMetrics } from "../streams/index.js";
import { silentLogger } from "../streams/logger.js";
import type { Suite, TrialResult } from "./measure.js";
import { describeMachine, machineLine } from "./report.js";

/** Issue #8's aim: metrics cost the pipeline less than this share of its throughput. */
export const GOAL_METRICS_OVERHEAD = 0.05;
export const METRICS_CASE = "mesh demo, metrics on vs off";

interface Run {
  events: number;
  wallMs: number;
  scrapes: number;
}

async function once(isOn: boolean, hours: number, baseDir = tmpdir()): Promise<Run> {
  const dir = mkdtempSync(join(baseDir, "spikemesh-bench-metrics-"));
  const log = silentLogger();
  const runtime = await openRuntime(loadConfig({ env: {}, flags: { dataDir: dir } }), log);
  const registry: Registry = isOn ? commandRegistry() : disabledMetrics();
  const server = isOn ? await MetricsServer.start({ registry, port: 0, host: "127.0.0.1", log }) : null;
  let scrapes = 0;
  const scraper = server
    ? setInterval(() => {
        void fetch(`${server.url}/metrics`)
          .then((r) => r.text())
          .then(
            () => scrapes++,
            () => undefined,
          );
      }, 1_000)
    : null;
  try {
    const { summary, wallMs } = await runDemo(runtime, loadConfig({ env: {}, flags: {} }), log, {
      durationMs: hours * 3_600_000,
      stepMs: 10_000,
      hosts: 6,
      seed: 7,
      keepRunning: false,
      signal: new AbortController().signal,
      metrics: registry,
    });
    return { events: summary.events, wallMs, scrapes };
  } finally {
    if (scraper) clearInterval(scraper);
    await server?.close();
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same two sides as a bench/run.ts suite: spikemesh = metrics on, baseline = metrics off, so
 * the ratio column is on/off throughput (1 − ratio is the overhead). Records = demo events.
 */
export function metricsOverheadSuite(options: { tmpRoot: string; hours: number }): Suite {
  const trial = (isOn: boolean) => async (): Promise<TrialResult> => {
    const run = await once(isOn, options.hours, options.tmpRoot);
    return { [METRICS_CASE]: { records: run.events, bytes: 0, seconds: run.wallMs / 1000 } };
  };
  return {
    cases: [METRICS_CASE],
    spikemesh: {
      label: "metrics on (default metrics, lag sampling, /metrics scraped every 1 s)",
      trial: trial(true),
    },
    baseline: {
      label: "metrics off (disabledMetrics(): no-op metrics, no lag sampling, no server)",
      trial: trial(false),
    },
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { reps: { type: "string", default: "5" }, hours: { type: "string", default: "6" } },
  });
  const reps = Number(values.reps);
  const hours = Number(values.hours);
  console.log(
    `metrics overhead: mesh demo (${hours} h of 6 hosts × 4 metrics), ${reps} runs each, alternating`,
  );
  console.log(machineLine(describeMachine()));
  await once(false, 1); // warm-up: module loading, JIT
  const rates: Record<"on" | "off", number[]> = { on: [], off: [] };
  let scrapes = 0;
  for (let i = 0; i < reps; i++) {
    for (const side of i % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
      const run = await once(side === "on", hours);
      rates[side].push(run.events / (run.wallMs / 1000));
      scrapes += run.scrapes;
    }
  }
  const on = median(rates.on);
  const off = median(rates.off);
  const overhead = 1 - on / off;
  const fmt = (xs: number[]) => xs.map((x) => Math.round(x).toLocaleString("en-US")).join(", ");
  console.log(`| side | median events/s | runs |\n|---|---|---|`);
  console.log(`| metrics off | ${Math.round(off).toLocaleString("en-US")} | ${fmt(rates.off)} |`);
  console.log(
    `| metrics on (${scrapes} scrapes in all) | ${Math.round(on).toLocaleString("en-US")} | ${fmt(rates.on)} |`,
  );
  console.log(
    `on/off = ${(on / off).toFixed(3)}: overhead ${(100 * overhead).toFixed(1)}% (goal < ${100 * GOAL_METRICS_OVERHEAD}%: ${overhead < GOAL_METRICS_OVERHEAD ? "met" : "NOT met"})`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
