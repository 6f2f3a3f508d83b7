import type { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  createEscalationTierSpec,
  type EscalationTierOptions,
  type EscalationTierOutputs,
  type TierAnswer,
  type TierBackend,
} from "../../processors/escalation-tier/index.js";
import type { ReasoningRequest } from "../../schemas/index.js";
import { ManualClock, ProcessorTestDriver, SpikemeshError } from "../../streams/index.js";
import { reasoningRequest } from "../helpers/reasoning-request.js";

type Driver = ProcessorTestDriver<ReasoningRequest, EscalationTierOutputs, EscalationTierOptions>;
const drivers: Driver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

const ok = (over: Partial<TierAnswer> = {}): TierAnswer => ({
  verdict: "ANOMALY",
  confidence: 0.7,
  action: null,
  summary: "looks odd",
  tokens: 12,
  ...over,
});

/** A backend that plays a script of answers and errors, one per call, repeating the last. */
function scripted(steps: (TierAnswer | Error | "hang")[]): TierBackend & { calls: number } {
  const backend = {
    name: "scripted",
    model: "m",
    calls: 0,
    async answer(_r: ReasoningRequest, signal: AbortSignal): Promise<TierAnswer> {
      const step = steps[Math.min(backend.calls, steps.length - 1)]!;
      backend.calls++;
      if (step === "hang") {
        return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
      }
      if (step instanceof Error) throw step;
      return step;
    },
  };
  return backend;
}

const transient = () => new SpikemeshError("TRANSIENT", "server busy (503)", { retriable: true });

function driver(
  backend: TierBackend,
  options: Record<string, unknown> = {},
  clock = new ManualClock(10_000),
): Driver {
  const d: Driver = new ProcessorTestDriver(
    createEscalationTierSpec(() => backend),
    { tier: "phi2", backoffBaseMs: 1, backoffMaxMs: 5, ...options },
    { clock },
  );
  drivers.push(d);
  return d;
}

async function pipe(d: Driver, over: Partial<ReasoningRequest> = {}): Promise<void> {
  const value = reasoningRequest({ deadline: 40_000, ...over });
  await d.pipe({ key: value.source, value, timestampMs: value.ts });
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

describe("tier worker resilience", () => {
  it("retries retriable failures with backoff and answers once", async () => {
    const backend = scripted([transient(), transient(), ok()]);
    const d = driver(backend, { maxAttempts: 3 });
    await pipe(d);
    expect(backend.calls).toBe(3);
    expect(d.read("results").map((r) => r.value)).toMatchObject([{ verdict: "ANOMALY", error: null }]);
    expect(
      await metric(d.metrics, "spikemesh_escalation_tier_retries_total", { tier: "phi2", kind: "transient" }),
    ).toBe(2);
  });

  it("does not retry an error that is not retriable", async () => {
    const backend = scripted([new SpikemeshError("CONFIG_INVALID", "HTTP 404: no such model")]);
    const d = driver(backend, { maxAttempts: 5 });
    await pipe(d);
    expect(backend.calls).toBe(1);
    expect(d.read("results")[0]!.value.error).toMatch(/no such model/);
    expect(
      await metric(d.metrics, "spikemesh_escalation_tier_backend_failures_total", {
        tier: "phi2",
        kind: "error",
      }),
    ).toBe(1);
  });

  it("aborts a call at the request's deadline and emits a TIMEOUT-shaped result", async () => {
    const clock = new ManualClock(10_000);
    const d = driver(scripted(["hang"]), {}, clock);
    const started = performance.now();
    await pipe(d, { deadline: 10_080 });
    expect(performance.now() - started).toBeLessThan(2_000);
    const [out] = d.read("results");
    expect(out!.value).toMatchObject({ verdict: "UNKNOWN", summary: "not answered: deadline exceeded" });
    expect(out!.value.error).toMatch(/^deadline exceeded during attempt 1/);
    expect(
      await metric(d.metrics, "spikemesh_escalation_tier_requests_total", {
        tier: "phi2",
        outcome: "timeout",
      }),
    ).toBe(1);
  });

  it("gives up at the tier's own timeoutMs even when the request's deadline is later", async () => {
    const d = driver(scripted(["hang"]), { timeoutMs: 50 });
    const started = performance.now();
    await pipe(d, { deadline: 10_000_000 });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(d.read("results")[0]!.value.error).toBe("deadline exceeded (tier timeoutMs 50) during attempt 1");
  });

  it("opens the circuit breaker after consecutive failures, then lets one trial through", async () => {
    const clock = new ManualClock(10_000);
    const backend = scripted([transient(), transient(), ok()]);
    const d = driver(backend, { maxAttempts: 1, breaker: { failureThreshold: 2, openMs: 5_000 } }, clock);
    const state = () =>
      metric(d.metrics, "spikemesh_escalation_tier_breaker_state", { tier: "phi2", partition: "0" });
    await pipe(d, { id: "a" });
    expect(await state()).toBe(0);
    await pipe(d, { id: "b" });
    expect(await state()).toBe(2);
    await pipe(d, { id: "c" });
    expect(backend.calls).toBe(2);
    expect(d.read("results").at(-1)!.value.error).toMatch(
      /circuit breaker open for scripted backend m; next trial in 5000 ms/,
    );
    clock.advance(5_000);
    await pipe(d, { id: "d" });
    expect(backend.calls).toBe(3);
    expect(d.read("results").at(-1)!.value).toMatchObject({ id: "d", error: null });
    expect(await state()).toBe(0);
    expect(
      await metric(d.metrics, "spikemesh_escalation_tier_backend_failures_total", {
        tier: "phi2",
        kind: "breaker_open",
      }),
    ).toBe(1);
  });

  it("passes a request it cannot answer to the fallback tier, and still reports the failure", async () => {
    const d = driver(scripted([transient()]), { maxAttempts: 1, fallbackTier: "rules" });
    await pipe(d, { ts: 9_500, deadline: 39_500 });
    const [result] = d.read("results");
    const [handed] = d.read("fallback");
    expect(result!.value.error).toMatch(/server busy/);
    expect(handed!.value).toMatchObject({
      tier: "rules",
      route: "single->phi2",
      depth: 1,
      ts: 10_000,
      deadline: 40_000,
    });
    expect(handed!.value.id).toMatch(/^[0-9a-f]{32}$/);
    expect(handed!.value.id).not.toBe("req-1");
    expect(result!.value.summary).toContain(`passed to tier rules as ${handed!.value.id}`);
    expect(JSON.parse(handed!.value.context).handoff).toMatchObject({ fromTier: "phi2", reason: "fallback" });
    expect(d.read("handUp")).toEqual([]);
    expect(
      await metric(d.metrics, "spikemesh_escalation_tier_handoffs_total", {
        tier: "phi2",
        to: "rules",
        reason: "fallback",
      }),
    ).toBe(1);
  });

  it("hands novel, correlated or ESCALATE cases up to the deep tier, once", async () => {
    const backend = scripted([ok({ handUp: true }), ok({ verdict: "ESCALATE" }), ok({ verdict: "NORMAL" })]);
    const d = driver(backend, { handUpTier: "deepseek" });
    await pipe(d, { id: "novel" });
    await pipe(d, { id: "escalate" });
    await pipe(d, { id: "normal" });
    await pipe(d, { id: "deep-already", depth: 1 });
    expect(d.read("results")).toHaveLength(4);
    const handed = d.read("handUp").map((r) => r.value);
    expect(handed).toHaveLength(2);
    expect(handed[0]).toMatchObject({ tier: "deepseek", depth: 1 });
    expect(JSON.parse(handed[0]!.context).handoff).toMatchObject({
      fromTier: "phi2",
      reason: "hand_up",
      verdict: "ANOMALY",
      summary: "looks odd",
    });
  });

  it("rejects a fallback or hand-up to itself at start", () => {
    expect(() => driver(scripted([ok()]), { fallbackTier: "phi2" })).toThrow(
      /fallbackTier: must name another tier/,
    );
  });
});
