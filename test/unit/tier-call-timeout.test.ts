import { describe, expect, it } from "vitest";
import { CircuitBreaker, callBackend, type TierBackend } from "../../processors/escalation-tier/index.js";
import { ManualClock, SpikemeshError, seededRandom } from "../../streams/index.js";
import { reasoningRequest } from "../helpers/reasoning-request.js";

describe("callBackend with the tier timeout as the bound", () => {
  // The time spent is measured with performance.now(), so after a failed attempt the time left is
  // fractional; AbortSignal.timeout() throws a RangeError for that, which crashed the tier's
  // partition (seen in the demo with an unreachable http backend, found by the secrets-in-logs test).
  it("retries after an attempt that took a fraction of a millisecond more than a whole number", async () => {
    let calls = 0;
    const backend: TierBackend = {
      name: "flaky",
      model: "flaky",
      async answer() {
        calls++;
        const started = performance.now();
        while (performance.now() - started < 1.3); // spend a fractional time
        if (calls === 1) throw new SpikemeshError("TRANSIENT", "connection refused", { retriable: true });
        return { verdict: "NORMAL", confidence: 0.5, action: null, summary: "ok", tokens: 0 };
      },
    };
    // A clock that stands still: the time left is then the tier timeout minus the time measured.
    const clock = new ManualClock(1_000_000);
    const outcome = await callBackend(backend, reasoningRequest({ deadline: clock.nowMs() + 600_000 }), {
      breaker: new CircuitBreaker({ failureThreshold: 5, openMs: 1_000 }, clock),
      timeoutMs: 120_000,
      retry: { maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 2 },
      clock,
      random: seededRandom(1),
      shutdown: new AbortController().signal,
    });
    expect(outcome).toMatchObject({ ok: true, attempts: 2 });
    expect(calls).toBe(2);
  });
});
