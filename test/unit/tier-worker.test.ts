import type { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  createEscalationTierSpec,
  type EscalationTierOptions,
  type EscalationTierOutputs,
  escalationTierSpec,
  RulesBackend,
  type TierAnswer,
  type TierBackend,
} from "../../processors/escalation-tier/index.js";
import type { ReasoningRequest, SpikeRecord } from "../../schemas/index.js";
import { ManualClock, type PipeInput, type ProcessorSpec, ProcessorTestDriver } from "../../streams/index.js";

type Spec = ProcessorSpec<ReasoningRequest, EscalationTierOutputs, EscalationTierOptions>;
const drivers: ProcessorTestDriver<ReasoningRequest, EscalationTierOutputs, EscalationTierOptions>[] = [];

function driver(
  spec: Spec = escalationTierSpec,
  options: Record<string, unknown> = {},
  clock = new ManualClock(10_000),
) {
  const d = new ProcessorTestDriver(spec, options, { clock });
  drivers.push(d);
  return d;
}

afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function spikeAt(intensity: number): SpikeRecord {
  return {
    timestamp: 9_000,
    source_rank: 0,
    target_rank: 1,
    type: "SENSOR_EVENT",
    payload: JSON.stringify({ metric: "cpu.util", value: 99, z: 5 }),
    source: "host-a",
    neuron: 0,
    intensity,
    traceId: "0".repeat(32),
  };
}

function request(
  overrides: Partial<ReasoningRequest> = {},
  context: unknown = {},
): PipeInput<ReasoningRequest> {
  const value: ReasoningRequest = {
    id: "req-1",
    ts: 9_500,
    tier: "rules",
    route: "catalogue->rules",
    source: "host-a",
    spikes: [spikeAt(2)],
    context: JSON.stringify(context),
    deadline: 20_000,
    depth: 0,
    ...overrides,
  };
  return { key: value.source, value, timestampMs: value.ts };
}

const match = (verdict: string, action: string | null = null) => ({
  catalogue: [{ id: "disk-io-storm", verdict, confidence: 0.85, action, suppress: false }],
});

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

describe("rules backend", () => {
  const backend = new RulesBackend({
    kind: "rules",
    model: "rules",
    anomalyIntensity: 1.5,
    incidentIntensity: 3,
  });
  const answer = (req: PipeInput<ReasoningRequest>) =>
    backend.answer(req.value, new AbortController().signal);

  it("answers with the catalogue entry the router matched", async () => {
    await expect(answer(request({}, match("INCIDENT", "throttle-source")))).resolves.toEqual({
      verdict: "INCIDENT",
      confidence: 0.85,
      action: "throttle-source",
      summary: "catalogue entry disk-io-storm",
      tokens: 0,
    });
  });

  it("falls back to the intensity heuristic without an action", async () => {
    const verdictFor = async (intensity: number) =>
      (await answer(request({ spikes: [spikeAt(intensity)] }))).verdict;
    expect(await verdictFor(1.1)).toBe("NORMAL");
    expect(await verdictFor(2)).toBe("ANOMALY");
    expect(await verdictFor(3.5)).toBe("INCIDENT");
    expect((await answer(request({ spikes: [spikeAt(3.5)] }))).action).toBeNull();
    // The router's summary wins over the spikes carried (which may be capped).
    expect((await answer(request({ spikes: [spikeAt(1)] }, { summary: { maxIntensity: 4 } }))).verdict).toBe(
      "INCIDENT",
    );
    expect((await answer(request({ spikes: [] }))).verdict).toBe("UNKNOWN");
  });

  it("rejects a context that is not JSON", async () => {
    const bad = request();
    bad.value.context = "{not json";
    await expect(answer(bad)).rejects.toMatchObject({ code: "RECORD_INVALID" });
  });
});

describe("escalation tier worker", () => {
  it("emits one result per request, keyed by source, with the backend's answer", async () => {
    const d = driver();
    await d.pipe(request({}, match("ANOMALY", "notify")));
    const [out] = d.read("results");
    expect(out!.key).toBe("host-a");
    expect(out!.value).toEqual({
      id: "req-1",
      ts: 10_000,
      tier: "rules",
      route: "catalogue->rules",
      source: "host-a",
      model: "rules",
      verdict: "ANOMALY",
      confidence: 0.85,
      action: "notify",
      summary: "catalogue entry disk-io-storm",
      latencyMs: 0,
      tokens: 0,
      error: null,
    });
    expect(
      await metric(d.metrics, "spikemesh_escalation_tier_requests_total", { tier: "rules", outcome: "ok" }),
    ).toBe(1);
  });

  it("does not call the backend past the deadline: TIMEOUT-shaped result", async () => {
    let calls = 0;
    const spec = createEscalationTierSpec(() => ({
      name: "counting",
      model: "counting",
      answer: async () => {
        calls++;
        return { verdict: "NORMAL", confidence: 1, action: null, summary: "", tokens: 0 };
      },
    }));
    const d = driver(spec, { tier: "phi2" }, new ManualClock(25_000));
    await d.pipe(request({ deadline: 20_000 }));
    const [out] = d.read("results");
    expect(calls).toBe(0);
    expect(out!.value).toMatchObject({ verdict: "UNKNOWN", confidence: 0, action: null, tier: "phi2" });
    expect(out!.value.error).toMatch(/^deadline exceeded/);
    expect(
      await metric(d.metrics, "spikemesh_escalation_tier_errors_total", { tier: "phi2", outcome: "timeout" }),
    ).toBe(1);
  });

  it("marks an answer that came after the deadline, measuring latency on the injected clock", async () => {
    const clock = new ManualClock(10_000);
    const slow: TierBackend = {
      name: "slow",
      model: "slow-model",
      answer: async (): Promise<TierAnswer> => {
        clock.advance(15_000);
        return { verdict: "INCIDENT", confidence: 0.9, action: "notify", summary: "late", tokens: 42 };
      },
    };
    const d = driver(
      createEscalationTierSpec(() => slow),
      { tier: "deepseek" },
      clock,
    );
    await d.pipe(request({ deadline: 20_000 }));
    const [out] = d.read("results");
    expect(out!.value).toMatchObject({
      verdict: "INCIDENT",
      latencyMs: 15_000,
      tokens: 42,
      model: "slow-model",
      ts: 25_000,
    });
    expect(out!.value.error).toBe("deadline exceeded: answered 5000 ms late");
    expect(
      await metric(d.metrics, "spikemesh_escalation_tier_tokens_total", {
        tier: "deepseek",
        model: "slow-model",
      }),
    ).toBe(42);
  });

  it("turns a backend failure into a result with error set, never a silent drop", async () => {
    const failing: TierBackend = {
      name: "failing",
      model: "m",
      answer: async () => {
        throw new Error("connection refused");
      },
    };
    const d = driver(
      createEscalationTierSpec(() => failing),
      { tier: "phi2" },
    );
    await d.pipe(request());
    const [out] = d.read("results");
    expect(out!.value).toMatchObject({ id: "req-1", verdict: "UNKNOWN", error: "Error: connection refused" });
    expect(d.dlq).toEqual([]);
    expect(
      await metric(d.metrics, "spikemesh_escalation_tier_errors_total", { tier: "phi2", outcome: "error" }),
    ).toBe(1);
  });

  it("clamps out-of-range answers into the record's ranges", async () => {
    const wild: TierBackend = {
      name: "wild",
      model: "m",
      answer: async () => ({
        verdict: "PANIC" as never,
        confidence: Number.POSITIVE_INFINITY,
        action: "",
        summary: "x",
        tokens: -3,
      }),
    };
    const d = driver(createEscalationTierSpec(() => wild));
    await d.pipe(request());
    expect(d.read("results")[0]!.value).toMatchObject({
      verdict: "UNKNOWN",
      confidence: 0,
      action: null,
      tokens: 0,
    });
  });

  it("rejects unknown backends and bad tier names at start", () => {
    expect(() => driver(escalationTierSpec, { backend: { kind: "bogus" } })).toThrow(
      /escalationTier\.backend\.kind/,
    );
    expect(() => driver(escalationTierSpec, { tier: "Deep Seek" })).toThrow(/escalationTier\.tier/);
  });
});
