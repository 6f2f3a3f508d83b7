import type { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ControlSinkOptions,
  type ControlSinkOutputs,
  controlSinkSpec,
  outcomeOf,
  rewardOf,
} from "../../processors/control-sink/index.js";
import type { ReasoningResult } from "../../schemas/index.js";
import { type PipeInput, ProcessorTestDriver } from "../../streams/index.js";

const drivers: ProcessorTestDriver<ReasoningResult, ControlSinkOutputs, ControlSinkOptions>[] = [];

function driver(options: Record<string, unknown> = {}) {
  const d = new ProcessorTestDriver(controlSinkSpec, options);
  drivers.push(d);
  return d;
}

afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function result(overrides: Partial<ReasoningResult> = {}): ReasoningResult {
  return {
    id: "req-1",
    ts: 5_000,
    tier: "phi2",
    route: "single->phi2",
    source: "host-a",
    model: "phi-2-q4",
    verdict: "INCIDENT",
    confidence: 0.8,
    action: "notify",
    summary: "disk filling up",
    latencyMs: 1_200,
    tokens: 30,
    error: null,
    ...overrides,
  };
}

const input = (r: ReasoningResult): PipeInput<ReasoningResult> => ({
  key: r.source,
  value: r,
  timestampMs: r.ts,
});

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

describe("feedback mapping", () => {
  it("maps errors and verdicts to outcomes", () => {
    expect(outcomeOf(result({ error: "deadline exceeded before the request was started" }))).toBe("TIMEOUT");
    expect(outcomeOf(result({ error: "TimeoutError: The operation timed out" }))).toBe("TIMEOUT");
    expect(outcomeOf(result({ error: "Error: connection refused" }))).toBe("ERROR");
    expect(outcomeOf(result({ verdict: "NORMAL" }))).toBe("NOT_USEFUL");
    expect(outcomeOf(result({ verdict: "UNKNOWN" }))).toBe("NOT_USEFUL");
    for (const verdict of ["ANOMALY", "INCIDENT", "ESCALATE"] as const)
      expect(outcomeOf(result({ verdict }))).toBe("USEFUL");
  });

  it("keeps rewards in [-1, 1], positive only for USEFUL", () => {
    for (const confidence of [0, 0.3, 1, 7, Number.NaN]) {
      const r = rewardOf("USEFUL", confidence);
      expect(r).toBeGreaterThan(0);
      expect(r).toBeLessThanOrEqual(1);
    }
    expect(rewardOf("USEFUL", 1)).toBeGreaterThan(rewardOf("USEFUL", 0.2));
    for (const outcome of ["NOT_USEFUL", "ERROR", "TIMEOUT"] as const) {
      expect(rewardOf(outcome, 1)).toBeLessThan(0);
      expect(rewardOf(outcome, 1)).toBeGreaterThanOrEqual(-1);
    }
  });
});

describe("control sink", () => {
  it("emits feedback keyed by route for every result", async () => {
    const d = driver();
    await d.pipeAll(
      [
        result(),
        result({ id: "req-2", verdict: "NORMAL", action: null }),
        result({ id: "req-3", error: "boom" }),
      ].map(input),
    );
    const feedback = d.read("feedback");
    expect(feedback.map((f) => f.key)).toEqual(["single->phi2", "single->phi2", "single->phi2"]);
    expect(feedback.map((f) => f.value.outcome)).toEqual(["USEFUL", "NOT_USEFUL", "ERROR"]);
    expect(feedback[0]!.value).toEqual({
      requestId: "req-1",
      route: "single->phi2",
      tier: "phi2",
      outcome: "USEFUL",
      reward: 0.9,
      latencyMs: 1_200,
      ts: 5_000,
    });
  });

  it("performs a whitelisted action with parameters built from structured fields only", async () => {
    const d = driver();
    await d.pipe(input(result({ action: "throttle-source" })));
    const [control] = d.read("control");
    expect(control!.key).toBe("host-a");
    expect(control!.value).toEqual({
      id: "req-1:throttle-source",
      ts: 5_000,
      target: "host-a",
      action: "throttle-source",
      params: {
        verdict: "INCIDENT",
        tier: "phi2",
        model: "phi-2-q4",
        route: "single->phi2",
        confidence: "0.80",
      },
      requestId: "req-1",
      reason: "INCIDENT from tier phi2 (phi-2-q4) at confidence 0.80",
    });
    expect(JSON.stringify(control!.value)).not.toContain("disk filling up");
  });

  it("blocks actions that are not whitelisted, counting them", async () => {
    const d = driver({ allowedActions: ["notify"] });
    const injected = ["rm -rf /", "throttle-source", "notify; reboot", "NOTIFY", " notify"];
    await d.pipeAll(injected.map((action, i) => input(result({ id: `req-${i}`, action }))));
    expect(d.read("control")).toEqual([]);
    expect(d.read("feedback")).toHaveLength(injected.length);
    expect(await metric(d.metrics, "spikemesh_control_sink_actions_total", { outcome: "blocked" })).toBe(
      injected.length,
    );
  });

  it("does not act on errors, non-actionable verdicts or low confidence", async () => {
    const d = driver({ minConfidence: 0.6 });
    await d.pipeAll(
      [
        result({ id: "a", error: "deadline exceeded" }),
        result({ id: "b", verdict: "NORMAL" }),
        result({ id: "c", verdict: "ESCALATE" }),
        result({ id: "d", confidence: 0.5 }),
        result({ id: "e", verdict: "ANOMALY", confidence: 0.6 }),
      ].map(input),
    );
    expect(d.read("control").map((c) => c.value.requestId)).toEqual(["e"]);
    expect(await metric(d.metrics, "spikemesh_control_sink_actions_total", { outcome: "skipped" })).toBe(4);
  });

  it("rejects a whitelist entry that is not an action name", () => {
    expect(() => driver({ allowedActions: ["notify", "run shell"] })).toThrow(
      /controlSink\.allowedActions\.1/,
    );
  });
});
