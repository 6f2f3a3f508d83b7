import { afterEach, describe, expect, it } from "vitest";
import {
  type FeedbackLearnerOptions,
  type FeedbackLearnerOutputs,
  feedbackLearnerSpec,
} from "../../processors/feedback-learner/index.js";
import type { Feedback, Outcome } from "../../schemas/index.js";
import { type PipeInput, ProcessorTestDriver } from "../../streams/index.js";

const drivers: ProcessorTestDriver<Feedback, FeedbackLearnerOutputs, FeedbackLearnerOptions>[] = [];

function driver(options: Record<string, unknown> = {}) {
  const d = new ProcessorTestDriver(feedbackLearnerSpec, options);
  drivers.push(d);
  return d;
}

afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function feedback(route: string, outcome: Outcome, latencyMs: number, ts: number): PipeInput<Feedback> {
  const tier = route.split("->")[1] ?? route;
  return {
    key: route,
    timestampMs: ts,
    value: { requestId: `r-${ts}`, route, tier, outcome, reward: 0, latencyMs, ts },
  };
}

describe("feedback learner", () => {
  it("emits the new weight of the route after each update, keyed by route", async () => {
    const d = driver();
    await d.pipe(feedback("single->phi2", "USEFUL", 0, 1_000));
    const [w] = d.read("weights");
    expect(w!.key).toBe("single->phi2");
    expect(w!.value).toEqual({ route: "single->phi2", weight: 0.6, updates: 1, ts: 1_000 });
  });

  it("rewards a route that is useful fast more than one that is useful slowly", async () => {
    const d = driver();
    for (let i = 0; i < 3; i++) {
      await d.pipe(feedback("single->phi2", "USEFUL", 800, i * 1_000));
      await d.pipe(feedback("single->deepseek", "USEFUL", 25_000, i * 1_000));
    }
    const latest = new Map(d.read("weights").map((w) => [w.key, w.value.weight]));
    expect(latest.get("single->phi2")!).toBeGreaterThan(latest.get("single->deepseek")!);
    expect(latest.get("single->deepseek")!).toBeGreaterThan(0.5);
  });

  it("weakens routes that time out, within bounds", async () => {
    const d = driver({ wMin: 0.1 });
    for (let i = 0; i < 20; i++) await d.pipe(feedback("correlated->deepseek", "TIMEOUT", 30_000, i));
    const weights = d.read("weights").map((w) => w.value.weight);
    expect(weights[0]).toBeCloseTo(0.4, 12);
    expect(weights.at(-1)).toBe(0.1);
  });

  it("keeps weights across a restart (store changelog)", async () => {
    const d = driver();
    await d.pipe(feedback("single->phi2", "USEFUL", 0, 1_000));
    await d.restart();
    await d.pipe(feedback("single->phi2", "USEFUL", 0, 1_000));
    const [w] = d.read("weights").slice(-1);
    expect(w!.value).toMatchObject({ weight: 0.7, updates: 2 });
  });

  it("dead-letters feedback with an unusable latency", async () => {
    const d = driver();
    await d.pipe(feedback("single->phi2", "USEFUL", -5, 0));
    expect(d.dlq[0]).toMatchObject({ code: "RECORD_INVALID" });
    expect(d.read("weights")).toEqual([]);
  });

  it("rejects inconsistent bounds at start", () => {
    expect(() => driver({ wMin: 1, wMax: 0 })).toThrow(/feedbackLearner\.wMax/);
    expect(() => driver({ baseline: 2 })).toThrow(/feedbackLearner\.baseline/);
  });
});
