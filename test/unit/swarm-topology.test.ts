import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../cli/config.js";
import { openRuntime, type Runtime } from "../../cli/runtime.js";
import {
  buildTopology,
  type LoadedTopology,
  loadTopology,
  parseTopologyText,
  topologiesDir,
} from "../../cli/topology/index.js";
import {
  type ReasoningRequest,
  type ReasoningResult,
  recordTypes,
  type SwarmMessage,
  type SwarmThought,
} from "../../schemas/index.js";
import { readToEnd, type Topology, TopologyRunner } from "../../streams/index.js";
import { silentLogger } from "../../streams/logger.js";
import { tempDir } from "./helpers/temp-dir.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SWARM_NODES = /^(swarm-|expert-)/;
const TS = Date.UTC(2026, 10, 23, 12);

/** One case with a spike of intensity 2: the rules backend calls it ANOMALY with confidence 0.6. */
const request: ReasoningRequest = {
  id: "case-1",
  ts: TS,
  tier: "swarm",
  route: "phi2",
  source: "host-7",
  spikes: [
    {
      timestamp: TS,
      source_rank: 0,
      target_rank: 0,
      type: "SENSOR_EVENT",
      payload: JSON.stringify({ metric: "disk.io_wait", z: 6 }),
      source: "host-7",
      neuron: 1,
      intensity: 2,
      traceId: "t-1",
    },
  ],
  context: JSON.stringify({ sources: ["host-7"] }),
  deadline: TS + 30_000,
  depth: 0,
};

interface SwarmRun {
  thought: SwarmThought;
  result: ReasoningResult;
  /** ACTIVATE messages found on the experts' topics, as `expert@depth`. */
  activations: SwarmMessage[];
  /** Messages on swarm.signals (INPUT and ANSWERs). */
  signals: SwarmMessage[];
}

/** Runs the swarm nodes of `loaded` on a fresh embedded runtime, sends `request`, waits for its thought. */
async function runSwarm(loaded: LoadedTopology): Promise<SwarmRun> {
  const { dir, remove } = await tempDir("spikemesh-swarm-");
  cleanups.push(remove);
  const runtime: Runtime = await openRuntime(
    loadConfig({ env: {}, flags: { dataDir: dir } }),
    silentLogger(),
  );
  cleanups.push(() => runtime.close());
  const topology: Topology = {
    ...loaded.topology,
    nodes: loaded.topology.nodes.filter((n) => SWARM_NODES.test(n.name ?? "")),
  };
  const runner = new TopologyRunner(topology, {
    transport: runtime.transport,
    codec: runtime.codec,
    logger: silentLogger(),
    maxWaitMs: 10,
    lagIntervalMs: 0,
  });
  await runner.start();
  cleanups.push(() => runner.stop());
  const producer = runtime.transport.producer();
  await producer.send([
    {
      topic: "escalations.swarm",
      key: Buffer.from(request.source),
      value: await runtime.codec.encode("escalations.swarm", recordTypes.ReasoningRequest, request),
      timestampMs: request.ts,
    },
  ]);
  await producer.close();

  const read = async <T>(topic: string): Promise<T[]> => {
    const out: T[] = [];
    const raw: Buffer[] = [];
    await readToEnd(runtime.transport, topic, "all", `test-read-${topic}`, (rec) => {
      if (rec.value) raw.push(rec.value);
    });
    for (const value of raw) out.push((await runtime.codec.decodeAny(value)) as T);
    return out;
  };
  const deadline = Date.now() + 60_000;
  let thoughts: SwarmThought[] = [];
  while (thoughts.length === 0) {
    if (Date.now() > deadline) throw new Error("no SwarmThought on swarm.thoughts within 60 s");
    await Promise.race([new Promise((r) => setTimeout(r, 50)), runner.crashed]);
    thoughts = await read<SwarmThought>("swarm.thoughts");
  }
  const experts = loaded.swarm!.experts.map((e) => e.name);
  const activations = (await Promise.all(experts.map((e) => read<SwarmMessage>(`swarm.${e}`)))).flat();
  return {
    thought: thoughts[0]!,
    result: (await read<ReasoningResult>("reasoning.results"))[0]!,
    activations,
    signals: await read<SwarmMessage>("swarm.signals"),
  };
}

const steps = (t: SwarmThought) => t.steps.map((s) => `${s.depth} ${s.expert}${s.ran ? "" : " (skipped)"}`);

describe("the swarm preset, simulated with rules backends on the embedded runtime", {
  timeout: 120_000,
}, () => {
  it("follows one input through the expected experts, wave by wave, to the depth limit", async () => {
    const loaded = loadTopology("swarm", { appId: "swarm-path", partitions: 2 });
    const run = await runSwarm(loaded);
    expect(steps(run.thought)).toEqual([
      "1 perception",
      "2 attention",
      "2 reasoning", // skip connection perception → reasoning
      "3 memory",
      "3 creative", // attention → creative (skip) and reasoning → creative
      "3 analytical",
      "4 reasoning", // memory → reasoning
      "4 synthesis", // memory → synthesis (skip), creative, analytical
      "5 creative",
      "5 analytical",
      "5 meta-cognitive",
      // Feedback from meta-cognitive carries 1 − 0.6 = 0.4, below the 0.5 threshold, except where
      // creative and analytical add to it (synthesis: 1 − 0.4 · 0.4 · 0.6 = 0.904).
      "6 attention (skipped)",
      "6 reasoning (skipped)",
      "6 synthesis",
    ]);
    const skipped = run.thought.steps.filter((s) => !s.ran);
    expect(skipped.map((s) => s.activation)).toEqual([0.4, 0.4]);
    expect(run.thought.steps.find((s) => s.depth === 6 && s.expert === "synthesis")!.activation).toBeCloseTo(
      0.904,
      9,
    );
    expect(run.thought).toMatchObject({
      traceId: "case-1",
      depth: 6,
      stopReason: "depth-limit",
      answeredBy: "synthesis",
      verdict: "ANOMALY",
      confidence: 0.6,
    });
    expect(run.thought.steps.every((s) => s.depth <= 6)).toBe(true);
    expect(
      run.thought.steps.filter((s) => s.ran).every((s) => s.verdict === "ANOMALY" && s.error === null),
    ).toBe(true);

    // The messages really went over the topics: one ACTIVATE per expert that ran, never deeper than
    // the limit, and one ANSWER back for each.
    const ran = run.thought.steps.filter((s) => s.ran).map((s) => `${s.depth} ${s.expert}`);
    expect(run.activations.map((m) => `${m.depth} ${m.expert}`).sort()).toEqual([...ran].sort());
    expect(Math.max(...run.activations.map((m) => m.depth))).toBe(6);
    expect(run.activations.every((m) => m.kind === "ACTIVATE" && m.traceId === "case-1")).toBe(true);
    expect(run.signals.filter((m) => m.kind === "INPUT").length).toBe(1);
    const answers = run.signals.filter((m) => m.kind === "ANSWER");
    expect(answers.map((m) => `${m.depth} ${m.expert}`).sort()).toEqual([...ran].sort());
    expect(answers.every((m) => m.model === "rules")).toBe(true);

    expect(run.result).toMatchObject({
      id: "case-1",
      tier: "swarm",
      route: "phi2",
      source: "host-7",
      verdict: "ANOMALY",
    });
    expect(run.result.summary).toContain("12 expert run(s) over 6 wave(s), stop depth-limit");
  });

  it("skips an expert whose activation stays below activationThreshold, and the thought goes on without it", async () => {
    // Weaken reasoning → analytical: 0.8 × 0.6 = 0.48 < 0.5.
    const text = readFileSync(join(topologiesDir(), "swarm.yaml"), "utf8").replace(
      "- { from: reasoning, to: analytical }",
      "- { from: reasoning, to: analytical, weight: 0.8 }",
    );
    expect(text).toContain("weight: 0.8");
    const loaded = buildTopology(parseTopologyText(text, "swarm-weak.yaml", topologiesDir()), {
      appId: "swarm-skip",
      partitions: 1,
    });
    const run = await runSwarm(loaded);
    expect(steps(run.thought)).toEqual([
      "1 perception",
      "2 attention",
      "2 reasoning",
      "3 memory",
      "3 creative",
      "3 analytical (skipped)",
      "4 reasoning",
      "4 synthesis",
      "5 creative",
      "5 analytical (skipped)",
      "5 meta-cognitive",
      "6 attention (skipped)",
      "6 reasoning (skipped)",
      "6 synthesis",
    ]);
    expect(run.thought.steps.find((s) => s.expert === "analytical")!.activation).toBeCloseTo(0.48, 9);
    expect(run.activations.some((m) => m.expert === "analytical")).toBe(false);
  });
});
