import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { expandGrafanaVariables, GRAFANA_DIR, loadDashboards, panelQueries } from "../helpers/dashboards.js";
import {
  ensurePrometheus,
  freePort,
  type PrometheusServer,
  type PromSeries,
  promApi,
  startPrometheus,
} from "../helpers/prometheus.js";
import { tinyModelPath } from "../helpers/tiny-model.js";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;
/** How long the demo may take to feed every panel, scrapes included. */
const DEADLINE_MS = Number(process.env.SPIKEMESH_TEST_PROM_DEADLINE_MS ?? 240_000);

/**
 * The project's Prometheus setup on a real server: grafana/prometheus.yml's global settings and rule
 * files (the alert rules), its scrape target replaced by a real `spikemesh demo --metrics-port`
 * child process, scraped every second. The demo's phi2 tier runs the generated tiny GGUF model
 * (real tokens and latencies) and its deepseek tier an HTTP backend that refuses connections, so
 * errors, retries, the circuit breaker and fallbacks have real data too.
 */
describe("dashboards on a real Prometheus scraping a running demo", {
  timeout: DEADLINE_MS + 120_000,
}, () => {
  let dir: string;
  let prometheus: PrometheusServer | undefined;
  let demo: ChildProcess | undefined;
  let demoOutput = "";
  let startedSec: number;

  beforeAll(async () => {
    ensurePrometheus();
    dir = mkdtempSync(join(tmpdir(), "spikemesh-prometheus-"));
    const metricsPort = await freePort();
    const refusedPort = await freePort();
    writeFileSync(
      join(dir, "spikemesh.yaml"),
      toYaml({
        nodes: {
          "tier-phi2": {
            backend: {
              kind: "llama",
              modelPath: tinyModelPath(),
              model: "tiny",
              maxThreads: 1,
              sequences: 2,
              gpu: false,
            },
          },
          "tier-deepseek": {
            backend: {
              kind: "http",
              baseUrl: `http://127.0.0.1:${refusedPort}/v1`,
              model: "deepseek-unreachable",
            },
            maxAttempts: 2,
            backoffBaseMs: 10,
            backoffMaxMs: 20,
            breaker: { failureThreshold: 2, openMs: 2_000 },
          },
        },
      }),
    );
    const base = parseYaml(readFileSync(join(GRAFANA_DIR, "prometheus.yml"), "utf8")) as {
      global: Record<string, string>;
      rule_files: string[];
    };
    prometheus = await startPrometheus(
      join(dir, "prometheus"),
      toYaml({
        global: { ...base.global, scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: base.rule_files.map((f) => join(GRAFANA_DIR, f)),
        scrape_configs: [
          { job_name: "spikemesh", static_configs: [{ targets: [`127.0.0.1:${metricsPort}`] }] },
        ],
      }),
    );
    startedSec = Date.now() / 1000;
    demo = spawn(
      process.execPath,
      [
        "--import",
        TSX,
        MAIN,
        "--config",
        join(dir, "spikemesh.yaml"),
        "--data-dir",
        join(dir, "data"),
        "demo",
        "--duration",
        "2h",
        "--hosts",
        "4",
        "--step",
        "5s",
        "--keep-running",
        // The history takes about a second: without waiting, it could all pass before Prometheus
        // first scraped, the counters never moved on Prometheus, and rate() panels (routing share)
        // stayed empty.
        "--wait-for-scrape",
        "--metrics-port",
        String(metricsPort),
        "--metrics-host",
        "127.0.0.1",
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    demo.stdout!.setEncoding("utf8").on("data", (d: string) => (demoOutput += d));
    demo
      .stderr!.setEncoding("utf8")
      .on("data", (d: string) => (demoOutput = (demoOutput + d).slice(-20_000)));
  }, 600_000);

  afterAll(async () => {
    if (demo && demo.exitCode === null && demo.signalCode === null) {
      const exited = new Promise<void>((resolve) => demo!.once("exit", () => resolve()));
      demo.kill("SIGINT");
      const timer = setTimeout(() => demo!.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await prometheus?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Evaluates a query over the run so far, like a Grafana panel over its time range. */
  async function evaluate(expr: string): Promise<PromSeries[]> {
    const data = await promApi<{ result: PromSeries[] }>(prometheus!.url, "query_range", {
      query: expandGrafanaVariables(expr),
      start: String(startedSec),
      end: String(Date.now() / 1000),
      step: "1",
    });
    return data.result;
  }

  /** A series "has data" when at least one of its points is a number (not NaN, which Grafana leaves blank). */
  const hasData = (series: PromSeries[]) =>
    series.some((s) => (s.values ?? []).some(([, v]) => Number.isFinite(Number(v))));

  it("every dashboard panel query returns data, and the alert rules are loaded and evaluated", async () => {
    const queries = panelQueries(loadDashboards());
    expect(queries.length).toBeGreaterThan(30);
    const breakerAlert = 'ALERTS{alertname="SpikemeshBreakerOpen",tier="deepseek"}';
    let empty: string[] = [];
    let breakerAlerted = false;
    const until = Date.now() + DEADLINE_MS;
    for (;;) {
      if (demo!.exitCode !== null) throw new Error(`the demo exited (${demo!.exitCode}):\n${demoOutput}`);
      empty = [];
      for (const q of queries) if (!hasData(await evaluate(q.expr))) empty.push(`${q.where}: ${q.expr}`);
      breakerAlerted ||= (await evaluate(breakerAlert)).length > 0;
      if ((empty.length === 0 && breakerAlerted) || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 3_000));
    }
    if (empty.length > 0) {
      // Which scrapes succeeded, and how long they took, says whether the run was seen at all.
      const up = (await evaluate('up{job="spikemesh"}'))[0]?.values ?? [];
      const took = (await evaluate('scrape_duration_seconds{job="spikemesh"}'))[0]?.values ?? [];
      const trace = up
        .map(([t, v], i) => `${Math.round(t - startedSec)}s:${v}/${took[i]?.[1] ?? "?"}`)
        .join(" ");
      expect(
        empty,
        `panels without data; scrapes (t:up/seconds) ${trace}\ndemo output:\n${demoOutput.slice(-3_000)}`,
      ).toEqual([]);
    }
    // The deepseek backend refuses connections: its breaker opened, and the rule saw it (pending or firing).
    expect(breakerAlerted).toBe(true);

    const rules = await promApi<{
      groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[];
    }>(prometheus!.url, "rules");
    const loaded = rules.groups.flatMap((g) => g.rules);
    const declared = (
      parseYaml(readFileSync(join(GRAFANA_DIR, "alerts.yml"), "utf8")) as {
        groups: { rules: { alert: string }[] }[];
      }
    ).groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(loaded.map((r) => r.name).sort()).toEqual([...declared].sort());
    for (const r of loaded)
      expect({ rule: r.name, health: r.health, error: r.lastError ?? "" }).toEqual({
        rule: r.name,
        health: "ok",
        error: "",
      });

    // Scraped as one healthy target, and the metrics carry the demo's real work.
    const up = await promApi<{ result: PromSeries[] }>(prometheus!.url, "query", {
      query: 'up{job="spikemesh"}',
    });
    expect(up.result.map((s) => s.value?.[1])).toEqual(["1"]);
    const tokens = await promApi<{ result: PromSeries[] }>(prometheus!.url, "query", {
      query: 'sum(spikemesh_escalation_tier_tokens_total{tier="phi2",model="tiny"})',
    });
    expect(Number(tokens.result[0]?.value?.[1])).toBeGreaterThan(0);
  });
});

describe("alert rules and Prometheus config under promtool", () => {
  beforeAll(() => ensurePrometheus(), 600_000);

  it("check rules, check config and the rules' unit tests pass", () => {
    const promtool = (...args: string[]) =>
      execFileSync("promtool", args, { cwd: GRAFANA_DIR, encoding: "utf8" });
    expect(promtool("check", "rules", "alerts.yml")).toMatch(/SUCCESS: 6 rules found/);
    // check config also checks the rule files it names, relative to the config.
    expect(promtool("check", "config", "prometheus.yml")).toMatch(/is valid prometheus config file/);
    expect(promtool("test", "rules", "alerts.test.yml")).toMatch(/SUCCESS/);
  });
});
