import { afterEach, describe, expect, it } from "vitest";
import { backendOptionsSchema, createTierBackend } from "../../processors/escalation-tier/index.js";
import { createSwarmExpertSpec, type ExpertBackends } from "../../processors/swarm/index.js";
import type { ReasoningRequest, SwarmMessage } from "../../schemas/index.js";
import { ProcessorTestDriver } from "../../streams/index.js";

const T0 = Date.UTC(2026, 10, 23);

const activate: SwarmMessage = {
  traceId: "req-1",
  kind: "ACTIVATE",
  ts: 0,
  source: "host-1",
  route: "phi2",
  expert: "reasoning",
  depth: 2,
  activation: 0.6,
  spikes: [],
  context: JSON.stringify({ summary: { maxIntensity: 3.5 }, swarm: { depth: 2, inputs: [] } }),
  deadline: 60_000,
  verdict: "UNKNOWN",
  confidence: 0,
  action: null,
  summary: "",
  model: "",
  latencyMs: 0,
  tokens: 0,
  error: null,
};

/** The escalation tier's backends, as the CLI injects them. */
const tierBackends: ExpertBackends<ReturnType<typeof backendOptionsSchema.parse>> = {
  options: backendOptionsSchema,
  create: (options, expert, log) => createTierBackend(options, expert, log),
};

const drivers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function expert<B>(backends: ExpertBackends<B>, options: Record<string, unknown>) {
  const d = new ProcessorTestDriver(createSwarmExpertSpec(backends), options, { topic: "swarm.reasoning" });
  drivers.push(d);
  return d;
}

describe("swarm expert", () => {
  it("answers an activation with the rules backend, keeping trace, depth and activation", async () => {
    const d = expert(tierBackends, { expert: "reasoning", backend: { kind: "rules" } });
    await d.pipe({ key: "host-1", value: activate, timestampMs: T0 });
    const [out] = d.read("answers");
    expect(out!.key).toBe("host-1");
    expect(out!.timestampMs).toBe(T0);
    expect(out!.value).toMatchObject({
      traceId: "req-1",
      kind: "ANSWER",
      expert: "reasoning",
      depth: 2,
      activation: 0.6,
      verdict: "INCIDENT", // max intensity 3.5 ≥ the rules backend's incidentIntensity 3
      confidence: 0.75,
      model: "rules",
      error: null,
      spikes: [],
    });
  });

  it("sends its role and the conductor's context to the backend", async () => {
    const seen: ReasoningRequest[] = [];
    const d = expert(
      {
        options: backendOptionsSchema,
        create: () => ({
          model: "echo",
          answer: async (request) => {
            seen.push(request);
            return { verdict: "NORMAL", confidence: 0.5, action: null, summary: "ok", tokens: 3 };
          },
        }),
      },
      { expert: "reasoning", backend: { kind: "rules" } },
    );
    await d.pipe({ key: "host-1", value: activate, timestampMs: T0 });
    expect(seen[0]).toMatchObject({ id: "req-1/2/reasoning", tier: "reasoning", depth: 2, route: "phi2" });
    expect(JSON.parse(seen[0]!.context)).toEqual({
      summary: { maxIntensity: 3.5 },
      swarm: {
        depth: 2,
        inputs: [],
        expert: "reasoning",
        role: "Apply logical, causal and evidence-based analysis; reach reasoned conclusions.",
      },
    });
    expect(d.read("answers")[0]!.value.tokens).toBe(3);
  });

  it("answers with an error when the backend takes longer than timeoutMs, even if it ignores the abort", async () => {
    const d = expert(
      {
        options: backendOptionsSchema,
        create: () => ({ model: "stuck", answer: () => new Promise(() => {}) }),
      },
      { expert: "reasoning", backend: { kind: "rules" }, timeoutMs: 50 },
    );
    await d.pipe({ key: "host-1", value: activate, timestampMs: T0 });
    expect(d.read("answers")[0]!.value).toMatchObject({
      kind: "ANSWER",
      verdict: "UNKNOWN",
      confidence: 0,
      error: "no answer within 50 ms (timeoutMs)",
    });
    expect(await d.metrics.getSingleMetricAsString("spikemesh_swarm_expert_requests_total")).toContain(
      'spikemesh_swarm_expert_requests_total{expert="reasoning",outcome="timeout"} 1',
    );
  });

  it("answers with the backend's error, and sends messages for other experts to the DLQ", async () => {
    const d = expert(
      {
        options: backendOptionsSchema,
        create: () => ({
          model: "broken",
          answer: async () => {
            throw new Error("model file missing");
          },
        }),
      },
      { expert: "reasoning", backend: { kind: "rules" } },
    );
    await d.pipe({ key: "host-1", value: activate, timestampMs: T0 });
    expect(d.read("answers")[0]!.value.error).toBe("Error: model file missing");
    await d.pipe({ key: "host-1", value: { ...activate, expert: "creative" }, timestampMs: T0 });
    expect(d.read("answers")).toEqual([]);
    expect(d.dlq.map((l) => l.code)).toEqual(["RECORD_INVALID"]);
  });

  it("rejects options with a backend the escalation tier does not have, naming the field", () => {
    expect(() => expert(tierBackends, { expert: "reasoning", backend: { kind: "gpt" } })).toThrow(
      /backend\.kind/,
    );
  });
});
