import { describe, expect, it } from "vitest";
import { controlSinkSpec } from "../../processors/control-sink/index.js";
import { createEscalationTierSpec, type TierBackend } from "../../processors/escalation-tier/index.js";
import { feedbackLearnerSpec } from "../../processors/feedback-learner/index.js";
import { routerSpec } from "../../processors/router/index.js";
import type { ReasoningRequest, SpikeRecord } from "../../schemas/index.js";
import { type PipeInput, ProcessorTestDriver, type Rec } from "../../streams/index.js";

/**
 * The whole loop through the test driver, topics replaced by hand-offs: spikes → router → tiers →
 * control sink → feedback → learner → the router's weights table. A tier that answers usefully gains
 * traffic; a tier that fails loses it (but keeps the exploration floor).
 */
const useful: TierBackend = {
  name: "fake",
  model: "useful",
  answer: async () => ({ verdict: "ANOMALY", confidence: 0.9, action: null, summary: "ok", tokens: 5 }),
};
const broken: TierBackend = {
  name: "fake",
  model: "broken",
  answer: async () => {
    throw new Error("model crashed");
  },
};

function spike(source: string, ts: number): PipeInput<SpikeRecord> {
  return {
    key: source,
    timestampMs: ts,
    value: {
      timestamp: ts,
      source_rank: 0,
      target_rank: 1,
      type: "SENSOR_EVENT",
      payload: JSON.stringify({ metric: "cpu.util", value: 99, z: 4 }),
      source,
      neuron: 0,
      intensity: 2,
      traceId: "0".repeat(32),
    },
  };
}

const asInput = <V>(rec: Rec<V>): PipeInput<V> => ({
  key: rec.key,
  value: rec.value,
  timestampMs: rec.timestampMs,
});

describe("feedback loop", () => {
  it("shifts traffic from a failing tier to a useful one", async () => {
    const router = new ProcessorTestDriver(
      routerSpec,
      {
        windowMs: 1_000,
        idleFlushMs: 0,
        incidentCooldownMs: 0,
        rateLimitPerMinute: 10_000,
        rateLimitBurst: 100,
        tierPrior: { phi2: 0, deepseek: 0 },
      },
      { seed: 5 },
    );
    const phi2 = new ProcessorTestDriver(
      createEscalationTierSpec(() => useful),
      { tier: "phi2" },
    );
    const deepseek = new ProcessorTestDriver(
      createEscalationTierSpec(() => broken),
      { tier: "deepseek" },
    );
    const sink = new ProcessorTestDriver(controlSinkSpec, {});
    const learner = new ProcessorTestDriver(feedbackLearnerSpec, {});

    const deepseekShare: number[] = [];
    for (let round = 0; round < 12; round++) {
      const t0 = round * 21_000;
      for (let i = 0; i < 20; i++) await router.pipe(spike(`host-${i}`, t0 + i * 1_000));
      await router.pipe(spike("host-x", t0 + 20_000));
      const toPhi2 = router.read("phi2");
      const toDeepseek = router.read("deepseek");
      deepseekShare.push(toDeepseek.length / (toPhi2.length + toDeepseek.length));
      await phi2.pipeAll(toPhi2.map((r) => asInput<ReasoningRequest>(r)));
      await deepseek.pipeAll(toDeepseek.map((r) => asInput<ReasoningRequest>(r)));
      await sink.pipeAll([...phi2.read("results"), ...deepseek.read("results")].map(asInput));
      await learner.pipeAll(sink.read("feedback").map(asInput));
      for (const w of learner.read("weights"))
        router.setTableEntry("weights", w.key ?? w.value.route, w.value);
    }
    for (const d of [router, phi2, deepseek, sink, learner]) await d.close();

    expect(deepseekShare[0]).toBeGreaterThan(0.2);
    const late = deepseekShare.slice(-4);
    // Converged weights: phi2 1, deepseek 0 → p(deepseek) = 0.95·σ(-5) + 0.025 ≈ 0.031.
    expect(late.reduce((a, b) => a + b, 0) / late.length).toBeLessThan(0.12);
  });
});
