import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadConfig } from "../../cli/config.js";
import { runDemo } from "../../cli/demo/run-demo.js";
import { commandRegistry } from "../../cli/metrics-server.js";
import { openRuntime, type Runtime } from "../../cli/runtime.js";
import { silentLogger } from "../../streams/logger.js";
import { GRAFANA_DIR, loadDashboards, metricNames, panelQueries } from "../helpers/dashboards.js";
import { checkDashboardSchema } from "../helpers/grafana-schema-check.js";
import { tempDir } from "./helpers/temp-dir.js";

const dashboards = loadDashboards();

describe("Grafana dashboards", () => {
  it("are the four the README names", () => {
    expect(dashboards.map((d) => d.json.title).sort()).toEqual([
      "spikemesh / Overview",
      "spikemesh / Plasticity",
      "spikemesh / Runtime",
      "spikemesh / Tiers",
    ]);
  });

  it("validate against Grafana's dashboard schema (@grafana/schema) and their panel plugins' option types", () => {
    expect(checkDashboardSchema(dashboards)).toEqual([]);
  }, 60_000);

  it("the schema check rejects a misspelled field, a wrong type and an unknown enum value", () => {
    const broken = (mutate: (d: (typeof dashboards)[number]) => void) => {
      const copy = structuredClone(dashboards[0]!);
      mutate(copy);
      return checkDashboardSchema([copy]).join("\n");
    };
    expect(
      broken((d) => {
        (d.json as Record<string, unknown>).refrsh = "5s";
      }),
    ).toContain("'\"refrsh\"' does not exist");
    expect(
      broken((d) => {
        (d.json as Record<string, unknown>).schemaVersion = "39";
      }),
    ).toMatch(/'string' is not assignable to type 'number'/);
    expect(
      broken((d) => {
        const timeseries = d.json.panels.find((p) => p.type === "timeseries")!;
        (timeseries.options!.legend as Record<string, unknown>).displayMode = "lists";
      }),
    ).toContain("'\"lists\"' is not assignable");
  }, 120_000);

  it("use the provisioned Prometheus datasource, unique ids and uids, and fit Grafana's 24-column grid", () => {
    const provisioning = parseYaml(
      readFileSync(join(GRAFANA_DIR, "provisioning/datasources/prometheus.yml"), "utf8"),
    ) as { datasources: { uid: string; type: string }[] };
    const ds = provisioning.datasources.find((d) => d.type === "prometheus")!;
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(dashboards.length);
    for (const d of dashboards) {
      const ids = d.json.panels.map((p) => p.id);
      expect(new Set(ids).size, d.file).toBe(ids.length);
      for (const p of d.json.panels) {
        const where = `${d.file} › ${p.title}`;
        expect(p.gridPos.x + p.gridPos.w, where).toBeLessThanOrEqual(24);
        expect(p.targets?.length ?? 0, where).toBeGreaterThan(0);
        expect(p.datasource?.uid, where).toBe(ds.uid);
        for (const t of p.targets ?? []) expect(t.datasource?.uid, `${where} › ${t.refId}`).toBe(ds.uid);
      }
    }
  });
});

/**
 * The metric catalogue is what a running mesh registers: the runner's and every processor's metrics
 * and prom-client's default process metrics, collected from a short demo on the embedded runtime.
 */
describe("metric catalogue", { timeout: 120_000 }, () => {
  let registry: Registry;
  let runtime: Runtime;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir("spikemesh-catalogue-");
    remove = t.remove;
    runtime = await openRuntime(loadConfig({ env: {}, flags: { dataDir: t.dir } }), silentLogger());
    registry = commandRegistry();
    await runDemo(runtime, loadConfig({ env: {}, flags: {} }), silentLogger(), {
      durationMs: 3_600_000,
      stepMs: 10_000,
      hosts: 3,
      seed: 7,
      keepRunning: false,
      signal: new AbortController().signal,
      metrics: registry,
    });
  });
  afterAll(async () => {
    await runtime?.close();
    await remove?.();
  });

  /** Exposed sample names: histograms expose _bucket, _sum and _count. */
  async function exposedNames(): Promise<Set<string>> {
    const names = new Set<string>();
    for (const m of await registry.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === "histogram" || String(m.type) === "summary")
        for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s);
    }
    return names;
  }

  it("has every metric a dashboard panel queries", async () => {
    const names = await exposedNames();
    const missing = panelQueries(dashboards).flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !names.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(missing).toEqual([]);
  });

  it("has every metric an alert rule reads", async () => {
    const names = await exposedNames();
    const rules = parseYaml(readFileSync(join(GRAFANA_DIR, "alerts.yml"), "utf8")) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const missing = rules.groups
      .flatMap((g) => g.rules)
      .flatMap((r) =>
        metricNames(r.expr)
          .filter((n) => !names.has(n))
          .map((n) => `${r.alert}: ${n}`),
      );
    expect(missing).toEqual([]);
  });

  it("follows Prometheus naming with bounded labels only", async () => {
    // Labels whose values come from configuration or a fixed set; never keys, sources, ids or text.
    const bounded = new Set([
      "processor",
      "topic",
      "partition",
      "group",
      "outcome",
      "tier",
      "model",
      "route",
      "code",
      "reason",
      "kind",
      "to",
      "verdict",
      "le",
    ]);
    const problems: string[] = [];
    for (const m of await registry.getMetricsAsJSON()) {
      if (!m.name.startsWith("spikemesh_")) continue;
      const type = String(m.type);
      if (type === "counter" && !m.name.endsWith("_total"))
        problems.push(`${m.name}: counter without _total`);
      if (type !== "counter" && m.name.endsWith("_total")) problems.push(`${m.name}: _total on a ${type}`);
      if (type === "histogram" && !/_(seconds|bytes|ratio)$/.test(m.name))
        problems.push(`${m.name}: histogram without a base unit`);
      if (!m.help) problems.push(`${m.name}: no help`);
      for (const v of m.values)
        for (const label of Object.keys(v.labels))
          if (!bounded.has(label)) problems.push(`${m.name}: label "${label}" is not a bounded label`);
    }
    expect(problems).toEqual([]);
  });
});
