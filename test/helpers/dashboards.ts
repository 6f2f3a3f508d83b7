import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const GRAFANA_DIR = resolve(import.meta.dirname, "../../grafana");
export const DASHBOARD_DIR = join(GRAFANA_DIR, "dashboards");

export interface DashboardTarget {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  options?: Record<string, unknown>;
  fieldConfig?: { defaults: { custom?: Record<string, unknown> } & Record<string, unknown> };
  targets?: DashboardTarget[];
}

export interface DashboardFile {
  file: string;
  /** The file's text, exactly as Grafana would read it. */
  text: string;
  json: { uid: string; title: string; panels: DashboardPanel[] } & Record<string, unknown>;
}

/** Every dashboard JSON under grafana/dashboards/. */
export function loadDashboards(): DashboardFile[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => {
      const text = readFileSync(join(DASHBOARD_DIR, file), "utf8");
      return { file, text, json: JSON.parse(text) as DashboardFile["json"] };
    });
}

/** Each panel query with where it comes from, for messages. */
export function panelQueries(dashboards: DashboardFile[]): { where: string; expr: string }[] {
  return dashboards.flatMap((d) =>
    d.json.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ where: `${d.file} › ${p.title} › ${t.refId}`, expr: t.expr })),
    ),
  );
}

/**
 * Grafana's interval variables, replaced the way Grafana would for a short dashboard range at a
 * 1 s scrape interval ($__rate_interval is at least four scrape intervals).
 */
export function expandGrafanaVariables(expr: string, rateInterval = "30s"): string {
  return expr.replaceAll("$__rate_interval", rateInterval).replaceAll("$__interval", "5s");
}

/** Metric names a query reads (ours and prom-client's default process metrics). */
export function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:spikemesh|nodejs|process)_[a-z0-9_]+\b/g) ?? [])];
}
