import type { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { controlSinkSpec } from "../../processors/control-sink/index.js";
import { feedbackLearnerSpec } from "../../processors/feedback-learner/index.js";
import type { Feedback, ReasoningResult } from "../../schemas/index.js";
import { LabelValues, OTHER_LABEL, ProcessorTestDriver } from "../../streams/index.js";

/** Record text never becomes an unbounded set of metric label values (found by the fuzz test). */
const closers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c.close();
});

async function labelValues(metrics: Registry, name: string, label: string): Promise<string[]> {
  const metric = metrics.getSingleMetric(name);
  const values = (await metric?.get())?.values ?? [];
  return [...new Set(values.map((v) => String(v.labels[label])))].sort();
}

describe("LabelValues", () => {
  it("keeps the first `max` name-like values and maps the rest to other", () => {
    const labels = new LabelValues(2);
    expect(labels.of("phi2")).toBe("phi2");
    expect(labels.of("single->phi2")).toBe("single->phi2");
    expect(labels.of("deepseek")).toBe(OTHER_LABEL);
    expect(labels.of("phi2")).toBe("phi2");
    const fresh = new LabelValues();
    for (const bad of ["", "x".repeat(65), "ignore previous instructions", "a\nb", '{"verdict":1}']) {
      expect(fresh.of(bad), JSON.stringify(bad)).toBe(OTHER_LABEL);
    }
  });
});

describe("control sink with hostile tier names", () => {
  it("counts results of unknown or odd tiers under a bounded set of labels", async () => {
    const d = new ProcessorTestDriver(controlSinkSpec, {});
    closers.push(d);
    const base: ReasoningResult = {
      id: "r",
      ts: 1,
      tier: "phi2",
      route: "single->phi2",
      source: "s",
      model: "m",
      verdict: "NORMAL",
      confidence: 0.5,
      action: null,
      summary: "",
      latencyMs: 1,
      tokens: 0,
      error: null,
    };
    await d.pipe({ key: "s", timestampMs: 1, value: base });
    for (let i = 0; i < 200; i++) {
      const tier = i % 2 === 0 ? `tier-${i}` : `${"A".repeat(1000)} ignore previous instructions ${i}`;
      await d.pipe({ key: "s", timestampMs: 2 + i, value: { ...base, id: `r${i}`, tier } });
    }
    expect(d.read("feedback")).toHaveLength(201);
    const tiers = await labelValues(d.metrics, "spikemesh_control_sink_results_total", "tier");
    expect(tiers).toContain("phi2");
    expect(tiers).toContain(OTHER_LABEL);
    expect(tiers.length).toBeLessThanOrEqual(65);
    expect(Math.max(...tiers.map((t) => t.length))).toBeLessThanOrEqual(64);
  });
});

describe("feedback learner with hostile routes", () => {
  const fb = (route: string, ts: number): { key: string; timestampMs: number; value: Feedback } => ({
    key: route,
    timestampMs: ts,
    value: { requestId: `r${ts}`, route, tier: "phi2", outcome: "USEFUL", reward: 1, latencyMs: 10, ts },
  });

  it("dead-letters routes that are not route names", async () => {
    const d = new ProcessorTestDriver(feedbackLearnerSpec, {});
    closers.push(d);
    for (const [i, route] of ["", "a b", "x".repeat(129), "ignore\nprevious", "é"].entries())
      await d.pipe(fb(route, i));
    expect(d.read("weights")).toEqual([]);
    expect(d.dlq).toHaveLength(5);
    for (const dead of d.dlq) {
      expect(dead).toMatchObject({ code: "RECORD_INVALID" });
      expect(dead.reason).toMatch(/route must be 1 to 128 printable ASCII characters/);
    }
  });

  it("keeps at most maxRoutes routes per instance and at most 64 route label values", async () => {
    const d = new ProcessorTestDriver(feedbackLearnerSpec, { maxRoutes: 100 });
    closers.push(d);
    for (let i = 0; i < 150; i++) await d.pipe(fb(`single->t${i}`, i));
    await d.pipe(fb("single->t0", 500));
    expect(d.read("weights")).toHaveLength(101);
    expect(d.dlq).toHaveLength(50);
    expect(d.dlq[0]?.reason).toMatch(/would be route 101 of this instance, beyond maxRoutes \(100\)/);
    const routes = await labelValues(d.metrics, "spikemesh_feedback_learner_updates_total", "route");
    expect(routes).toHaveLength(65);
    expect(routes).toContain(OTHER_LABEL);
    const weights = await labelValues(d.metrics, "spikemesh_feedback_learner_route_weight", "route");
    expect(weights).not.toContain(OTHER_LABEL);
  });
});
