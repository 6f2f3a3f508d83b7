import { afterEach, describe, expect, it } from "vitest";
import {
  createSwarmConductorSpec,
  findCycle,
  inputMessage,
  nextActivations,
  type SwarmConductorOptions,
  type SwarmConductorOutputs,
  swarmConductorOptionsSchema,
  swarmIntakeSpec,
} from "../../processors/swarm/index.js";
import type { ReasoningRequest, ReasoningResult, SwarmMessage, SwarmThought } from "../../schemas/index.js";
import { ProcessorTestDriver } from "../../streams/index.js";

const T0 = Date.UTC(2026, 10, 23);

const request: ReasoningRequest = {
  id: "req-1",
  ts: T0,
  tier: "swarm",
  route: "phi2",
  source: "host-1",
  spikes: [],
  context: JSON.stringify({ summary: { maxIntensity: 2 } }),
  deadline: T0 + 30_000,
  depth: 0,
};

/** A small graph: a → b → c, a skip a → c, and a feedback c → b. */
const small = {
  experts: [
    { name: "a", timeoutMs: 1_000 },
    { name: "b", timeoutMs: 1_000 },
    { name: "c", timeoutMs: 1_000 },
  ],
  routes: [
    { from: "a", to: "b" },
    { from: "b", to: "c" },
    { from: "a", to: "c", kind: "skip", weight: 0.5 },
    { from: "c", to: "b", kind: "feedback" },
  ],
  entry: ["a"],
  output: ["c"],
  maxPropagationDepth: 4,
  activationThreshold: 0.5,
  graceMs: 500,
  checkIntervalMs: 100,
  memory: { expert: "b", shortTermCapacity: 3, episodicCapacity: 2, consolidationInterval: 2, recall: 2 },
};

const drivers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function conductor(options: Record<string, unknown> = small) {
  const names = (options.experts as { name: string }[]).map((e) => e.name);
  const d = new ProcessorTestDriver<SwarmMessage, SwarmConductorOutputs, SwarmConductorOptions>(
    createSwarmConductorSpec(names),
    options,
    { topic: "swarm.signals" },
  );
  drivers.push(d);
  return d;
}

type Driver = ReturnType<typeof conductor>;

/** The ACTIVATE messages the conductor sent, per expert, as "expert@depth". */
function activated(d: Driver, experts: string[]): SwarmMessage[] {
  return experts.flatMap((e) => d.read(e).map((r) => r.value as SwarmMessage));
}

function answer(to: SwarmMessage, confidence: number, extra: Partial<SwarmMessage> = {}): SwarmMessage {
  return {
    ...to,
    kind: "ANSWER",
    spikes: [],
    context: "",
    verdict: "ANOMALY",
    confidence,
    summary: `${to.expert} says so`,
    model: "rules",
    ...extra,
  };
}

async function pipe(d: Driver, msg: SwarmMessage) {
  await d.pipe({ key: msg.source, value: msg, timestampMs: T0 });
}

describe("swarm graph", () => {
  it("carries weight × confidence forward, weight × (1 − confidence) back, and combines as noisy-OR", () => {
    const routes = [
      { from: "a", to: "c", kind: "forward" as const, weight: 1 },
      { from: "b", to: "c", kind: "skip" as const, weight: 0.5 },
      { from: "c", to: "a", kind: "feedback" as const, weight: 1 },
    ];
    const act = nextActivations(
      routes,
      [
        { expert: "a", confidence: 0.6, isError: false },
        { expert: "b", confidence: 0.8, isError: false },
        { expert: "c", confidence: 0.9, isError: false },
      ],
      ["a", "b", "c"],
    );
    expect([...act.keys()]).toEqual(["a", "c"]);
    expect(act.get("a")).toBeCloseTo(0.1, 9);
    expect(act.get("c")).toBeCloseTo(1 - 0.4 * 0.6, 9);
    const failed = nextActivations(
      routes,
      [{ expert: "a", confidence: 0.6, isError: true }],
      ["a", "b", "c"],
    );
    expect(failed.size).toBe(0);
  });

  it("finds a cycle, and none in a pipeline", () => {
    expect(
      findCycle(["a", "b", "c"], small.routes.map((r) => ({ kind: "forward", weight: 1, ...r })) as never),
    ).toEqual(["b", "c", "b"]);
    expect(findCycle(["a", "b"], [{ from: "a", to: "b", kind: "forward", weight: 1 }])).toBeNull();
  });

  it("needs a depth limit when the routes have a cycle, and names unknown experts", () => {
    const { maxPropagationDepth: _, ...noLimit } = small;
    const issues = swarmConductorOptionsSchema.safeParse(noLimit).error?.issues ?? [];
    expect(issues.map((i) => [i.path.join("."), i.message])).toEqual([
      [
        "maxPropagationDepth",
        "required: the routes have a cycle (b → c → b), so propagation needs a depth limit",
      ],
    ]);
    const typo = swarmConductorOptionsSchema.safeParse({ ...small, routes: [{ from: "a", to: "d" }] });
    expect(typo.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([
      'routes.0.to: unknown expert "d" (experts: a, b, c)',
    ]);
  });
});

describe("swarm conductor", () => {
  it("follows one input wave by wave, skips experts below the threshold and stops at the depth limit", async () => {
    const d = conductor();
    await pipe(d, inputMessage(request));
    const wave1 = activated(d, ["a", "b", "c"]);
    expect(wave1.map((m) => `${m.expert}@${m.depth}`)).toEqual(["a@1"]);
    expect(wave1[0]!.activation).toBe(1);
    expect(JSON.parse(wave1[0]!.context)).toMatchObject({
      summary: { maxIntensity: 2 },
      swarm: { depth: 1 },
    });

    // a answers 0.6: b gets 0.6 (runs), c gets 0.5 × 0.6 = 0.3 through the skip (skipped).
    await pipe(d, answer(wave1[0]!, 0.6));
    const wave2 = activated(d, ["a", "b", "c"]);
    expect(wave2.map((m) => `${m.expert}@${m.depth}`)).toEqual(["b@2"]);
    expect(JSON.parse(wave2[0]!.context).swarm.inputs).toEqual([
      { expert: "a", verdict: "ANOMALY", confidence: 0.6, summary: "a says so" },
    ]);

    await pipe(d, answer(wave2[0]!, 0.8));
    const wave3 = activated(d, ["a", "b", "c"]);
    expect(wave3.map((m) => `${m.expert}@${m.depth}`)).toEqual(["c@3"]);
    // c doubts (0.3): the feedback route wakes b again with 1 − 0.3 = 0.7.
    await pipe(d, answer(wave3[0]!, 0.3));
    const wave4 = activated(d, ["a", "b", "c"]);
    expect(wave4.map((m) => `${m.expert}@${m.depth}`)).toEqual(["b@4"]);
    expect(wave4[0]!.activation).toBeCloseTo(0.7, 9);
    // b's answer would wake c at depth 5, past the limit of 4: the thought ends.
    await pipe(d, answer(wave4[0]!, 0.9));
    expect(activated(d, ["a", "b", "c"])).toEqual([]);

    const [thought] = d.read("thoughts").map((r) => r.value as SwarmThought);
    expect(thought!.steps.map((s) => `${s.expert}@${s.depth}${s.ran ? "" : " skipped"}`)).toEqual([
      "a@1",
      "b@2",
      "c@2 skipped",
      "c@3",
      "b@4",
    ]);
    expect(thought!.steps.find((s) => !s.ran)!.activation).toBeCloseTo(0.3, 9);
    expect(thought).toMatchObject({ depth: 4, stopReason: "depth-limit", answeredBy: "c", confidence: 0.3 });
    const [result] = d.read("results").map((r) => r.value as ReasoningResult);
    expect(result).toMatchObject({
      id: "req-1",
      tier: "swarm",
      route: "phi2",
      source: "host-1",
      verdict: "ANOMALY",
    });
    expect(result!.summary).toContain("4 expert run(s) over 4 wave(s), stop depth-limit");
  });

  it("ends when no activation passes the threshold", async () => {
    const d = conductor();
    await pipe(d, inputMessage(request));
    const [a] = activated(d, ["a"]);
    await pipe(d, answer(a!, 0.4)); // b 0.4, c 0.2: both below 0.5
    const [thought] = d.read("thoughts").map((r) => r.value as SwarmThought);
    expect(thought!.steps.map((s) => `${s.expert}@${s.depth}:${s.ran}`)).toEqual([
      "a@1:true",
      "b@2:false",
      "c@2:false",
    ]);
    expect(thought).toMatchObject({ depth: 1, stopReason: "no-activation", answeredBy: "a" });
  });

  it("goes on without an expert that does not answer in time, and counts its late answer", async () => {
    const d = conductor({
      ...small,
      routes: [
        { from: "a", to: "b" },
        { from: "a", to: "c" },
      ],
      output: [],
    });
    await pipe(d, inputMessage(request));
    await pipe(d, answer(activated(d, ["a"])[0]!, 0.9));
    const [b, c] = activated(d, ["b", "c"]);
    await pipe(d, answer(b!, 0.7));
    await d.advanceWallClock(1_400); // c's 1000 ms + 500 ms grace not yet over
    expect(d.read("thoughts")).toEqual([]);
    await d.advanceWallClock(200);
    const [thought] = d.read("thoughts").map((r) => r.value as SwarmThought);
    expect(thought!.steps.find((s) => s.expert === "c")!.error).toBe(
      "no answer within 1000 ms (+500 ms grace)",
    );
    expect(thought).toMatchObject({ answeredBy: "b", stopReason: "no-routes" });
    await pipe(d, answer(c!, 0.9));
    const late = await d.metrics.getSingleMetricAsString("spikemesh_swarm_answers_total");
    expect(late).toContain('spikemesh_swarm_answers_total{expert="c",outcome="late"} 1');
    expect(late).toContain('spikemesh_swarm_answers_total{expert="c",outcome="missing"} 1');
  });

  it("keeps short-term memory per source, consolidates it into episodes, and shows it to the memory expert", async () => {
    const d = conductor({ ...small, routes: [{ from: "a", to: "b" }], output: [] });
    for (let i = 1; i <= 5; i++) {
      await pipe(d, inputMessage({ ...request, id: `req-${i}` }));
      await pipe(d, answer(activated(d, ["a"])[0]!, 0.6 + i / 100));
      const [b] = activated(d, ["b"]);
      const memory = JSON.parse(b!.context).swarm.memory;
      // What b (the memory expert) saw: the thoughts before this one (recall 2) and the episodes so far.
      expect(memory.shortTerm.map((m: { traceId: string }) => m.traceId)).toEqual(
        i === 1 ? [] : i === 2 ? ["req-1"] : [`req-${i - 2}`, `req-${i - 1}`],
      );
      expect(memory.episodic.length).toBe(Math.floor((i - 1) / 2));
      await pipe(d, answer(b!, 0.5, { verdict: i === 3 ? "INCIDENT" : "NORMAL", summary: `thought ${i}` }));
    }
    await d.restart(); // memory survives a restart: it is in changelogged stores
    await pipe(d, inputMessage({ ...request, id: "req-6" }));
    await pipe(d, answer(activated(d, ["a"])[0]!, 0.9));
    const memory = JSON.parse(activated(d, ["b"])[0]!.context).swarm.memory;
    expect(memory.shortTerm.map((m: { traceId: string }) => m.traceId)).toEqual(["req-4", "req-5"]);
    expect(memory.episodic).toEqual([
      {
        fromMs: T0,
        toMs: T0,
        thoughts: 2,
        verdicts: { NORMAL: 2 },
        meanConfidence: 0.5,
        salient: "NORMAL: thought 1",
      },
      {
        fromMs: T0,
        toMs: T0,
        thoughts: 2,
        verdicts: { INCIDENT: 1, NORMAL: 1 },
        meanConfidence: 0.5,
        salient: "INCIDENT: thought 3",
      },
    ]);
    const consolidations = await d.metrics.getSingleMetricAsString(
      "spikemesh_swarm_memory_consolidations_total",
    );
    expect(consolidations).toMatch(/spikemesh_swarm_memory_consolidations_total 2$/m);
  });

  it("resumes a thought in flight after a restart", async () => {
    const d = conductor();
    await pipe(d, inputMessage(request));
    const [a] = activated(d, ["a"]);
    await d.restart();
    await pipe(d, answer(a!, 0.6));
    expect(activated(d, ["b"]).map((m) => `${m.traceId} ${m.expert}@${m.depth}`)).toEqual(["req-1 b@2"]);
  });

  it("sends ACTIVATE messages on its input to the DLQ, and ignores a duplicate input", async () => {
    const d = conductor();
    await pipe(d, inputMessage(request));
    const [a] = activated(d, ["a"]);
    await pipe(d, a!);
    expect(d.dlq.map((l) => l.code)).toEqual(["RECORD_INVALID"]);
    expect(d.dlq[0]!.reason).toContain("ACTIVATE messages go to experts");
    await pipe(d, inputMessage(request));
    expect(activated(d, ["a"])).toEqual([]);
  });
});

describe("swarm intake", () => {
  it("turns a request into the INPUT that opens a thought, keyed by source", async () => {
    const d = new ProcessorTestDriver(swarmIntakeSpec, {}, { topic: "escalations.swarm" });
    drivers.push(d);
    await d.pipe({ key: "host-1", value: request, timestampMs: T0 });
    const [out] = d.read("signals");
    expect(out!.key).toBe("host-1");
    expect(out!.value).toMatchObject({
      traceId: "req-1",
      kind: "INPUT",
      depth: 0,
      route: "phi2",
      context: request.context,
    });
  });
});
