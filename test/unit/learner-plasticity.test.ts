import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlSinkSpec } from "../../processors/control-sink/index.js";
import { createEscalationTierSpec, type TierBackend } from "../../processors/escalation-tier/index.js";
import { feedbackLearnerSpec } from "../../processors/feedback-learner/index.js";
import { routerSpec, tierProbabilities } from "../../processors/router/index.js";
import {
  type ReasoningRequest,
  type RouteWeight,
  recordTypes,
  type SpikeRecord,
} from "../../schemas/index.js";
import { ManualClock } from "../../streams/index.js";
import type { Topology } from "../../streams/topology/topology.js";
import type { IncomingRecord } from "../../streams/transport/transport.js";
import { spikeOf } from "../helpers/reasoning-request.js";
import { type RunnerHarness, runnerHarness } from "./runner-harness.js";

/**
 * Route plasticity on real topics (embedded log, registry codec, TopologyRunner): spikes → router →
 * escalations.phi2 (always useful) / escalations.deepseek (always times out) → results → control
 * sink → feedback → learner → route-weights → the router's table. Then a restart of everything on
 * the same log: the router's weights come back from the route-weights topic.
 */
const BASE_MS = 1_700_000_000_000;
const EPSILON = 0.05;
const ROUNDS = 8;
const CASES_PER_ROUND = 20;

const useful: TierBackend = {
  name: "fake",
  model: "useful",
  answer: async () => ({ verdict: "ANOMALY", confidence: 0.9, action: null, summary: "found it", tokens: 5 }),
};
/** Never answers: every call ends at the tier's timeoutMs. */
const hanging: TierBackend = {
  name: "fake",
  model: "hanging",
  answer: (_request, signal) =>
    new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true })),
};

const tierOutputs = {
  results: "reasoning.results",
  handUp: "escalations.deepseek",
  fallback: "escalations.rules",
};

const topology: Topology = {
  appId: "plasticity",
  defaultPartitions: 1,
  topics: [{ name: "route-weights", partitions: 1, cleanupPolicy: "compact" }],
  nodes: [
    {
      name: "router",
      spec: routerSpec,
      options: {
        windowMs: 1_000,
        idleFlushMs: 0,
        incidentCooldownMs: 0,
        rateLimitPerMinute: 100_000,
        rateLimitBurst: 1_000,
        tierPrior: { phi2: 0, deepseek: 0 },
        epsilon: EPSILON,
        deadlineMs: 600_000,
      },
      input: "spikes",
      outputs: { rules: "escalations.rules", phi2: "escalations.phi2", deepseek: "escalations.deepseek" },
      tables: { weights: "route-weights" },
    },
    {
      name: "tier-phi2",
      spec: createEscalationTierSpec(() => useful),
      options: { tier: "phi2" },
      input: "escalations.phi2",
      outputs: tierOutputs,
    },
    {
      name: "tier-deepseek",
      spec: createEscalationTierSpec(() => hanging),
      options: { tier: "deepseek", timeoutMs: 20, maxAttempts: 1 },
      input: "escalations.deepseek",
      outputs: tierOutputs,
    },
    {
      name: "control-sink",
      spec: controlSinkSpec,
      options: {},
      input: "reasoning.results",
      outputs: { control: "control", feedback: "feedback" },
    },
    {
      name: "feedback-learner",
      spec: feedbackLearnerSpec,
      options: {},
      input: "feedback",
      outputs: { weights: "route-weights" },
    },
  ],
};

/** One round: one lone case per host (each in its own 1 s window), then a spike that closes the last window. */
function round(r: number): SpikeRecord[] {
  const t0 = BASE_MS + r * 21_000;
  const spikes = Array.from({ length: CASES_PER_ROUND }, (_, i) => ({
    ...spikeOf(2, { metric: "cpu.util", value: 99, z: 4 }, `host-${i}`),
    timestamp: t0 + i * 1_000,
  }));
  spikes.push({ ...spikeOf(2, { metric: "cpu.util", value: 99, z: 4 }, "host-x"), timestamp: t0 + 20_000 });
  return spikes;
}

let h: RunnerHarness;
const clock = new ManualClock(BASE_MS);

async function produceSpikes(spikes: SpikeRecord[]): Promise<void> {
  const records = [];
  for (const s of spikes) {
    records.push({
      topic: "spikes",
      key: Buffer.from(s.source),
      value: await h.codec.encode("spikes", recordTypes.SpikeRecord, s),
      timestampMs: s.timestamp,
    });
  }
  await h.produceRaw(records);
}

async function decodeAll<T>(
  records: IncomingRecord[],
  type: (typeof recordTypes)[keyof typeof recordTypes],
): Promise<T[]> {
  const out: T[] = [];
  for (const r of records) out.push((await h.codec.decode(r.topic, type, r.value!)) as T);
  return out;
}

const requestsOf = async (topic: string): Promise<ReasoningRequest[]> => {
  const [d] = await h.transport.admin().describeTopics([topic]);
  const n = d?.partitions.reduce((a, p) => a + p.highOffset, 0) ?? 0;
  return n === 0 ? [] : decodeAll<ReasoningRequest>(await h.readAll(topic), recordTypes.ReasoningRequest);
};

const probabilitiesOf = (r: ReasoningRequest): Record<string, number> =>
  (JSON.parse(r.context) as { routing: { probabilities: Record<string, number> } }).routing.probabilities;

beforeAll(async () => {
  h = await runnerHarness();
});
afterAll(async () => {
  await h.close();
});

describe("route plasticity on real topics", () => {
  it("moves share from an always-timing-out route to an always-useful one, keeps exploring, and restores weights after a restart", async () => {
    let runner = h.runner(topology, { clock, maxBatchRecords: 50 });
    await runner.start();
    const shares: number[] = [];
    let answered = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const before = {
        phi2: (await requestsOf("escalations.phi2")).length,
        deep: (await requestsOf("escalations.deepseek")).length,
      };
      await produceSpikes(round(r));
      // Each round closes 20 windows (the first round 20, later ones 21 with last round's host-x).
      answered += r === 0 ? CASES_PER_ROUND : CASES_PER_ROUND + 1;
      await h.waitForRecords("feedback", answered, 30_000);
      await h.waitForRecords("route-weights", answered, 30_000);
      const phi2 = (await requestsOf("escalations.phi2")).length - before.phi2;
      const deep = (await requestsOf("escalations.deepseek")).length - before.deep;
      shares.push(deep / (phi2 + deep));
    }
    const requests = [
      ...(await requestsOf("escalations.phi2")),
      ...(await requestsOf("escalations.deepseek")),
    ];
    await runner.stop();

    // The timing-out route loses share, the useful one gains it.
    expect(shares[0]).toBeGreaterThan(0.25);
    const late = shares.slice(-3).reduce((a, b) => a + b, 0) / 3;
    expect(late).toBeLessThan(0.2);
    const weights = new Map(
      (await decodeAll<RouteWeight>(await h.readAll("route-weights"), recordTypes.RouteWeight)).map((w) => [
        w.route,
        w,
      ]),
    );
    expect(weights.get("single->phi2")!.weight).toBeGreaterThan(0.9);
    expect(weights.get("single->deepseek")!.weight).toBeLessThan(0.1);
    // Exploration never drops below its floor, epsilon / n per tier.
    const floor = EPSILON / 2;
    for (const r of requests) {
      for (const p of Object.values(probabilitiesOf(r))) expect(p).toBeGreaterThanOrEqual(floor - 1e-4);
    }
    expect(Math.min(...requests.map((r) => probabilitiesOf(r).deepseek!))).toBeLessThan(floor + 0.02);

    // Restart: a new transport and runner on the same log. The router reloads route-weights before
    // its first record, so the first case after the restart is routed with the learned weights.
    await h.reopen();
    const seenBefore = new Set(requests.map((r) => r.id));
    runner = h.runner(topology, { clock, maxBatchRecords: 50 });
    await runner.start();
    await produceSpikes(round(ROUNDS));
    await h.waitForRecords("feedback", answered + CASES_PER_ROUND + 1, 30_000);
    const after = [...(await requestsOf("escalations.phi2")), ...(await requestsOf("escalations.deepseek"))]
      .filter((r) => !seenBefore.has(r.id))
      .sort((a, b) => a.ts - b.ts);
    await runner.stop();
    const expected = tierProbabilities(
      [weights.get("single->phi2")!.weight, weights.get("single->deepseek")!.weight],
      0.2,
      EPSILON,
    );
    expect(probabilitiesOf(after[0]!).phi2).toBeCloseTo(expected[0]!, 3);
    expect(probabilitiesOf(after[0]!).deepseek).toBeCloseTo(expected[1]!, 3);
    // The learner resumed from its own state too: update counts continue.
    const latest = await decodeAll<RouteWeight>(await h.readAll("route-weights"), recordTypes.RouteWeight);
    expect(latest.at(-1)!.updates).toBeGreaterThan(weights.get(latest.at(-1)!.route)!.updates);
  });
});
