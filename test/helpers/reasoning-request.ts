import type { ReasoningRequest, SpikeRecord } from "../../schemas/index.js";

/** A spike as the SNN filter emits it, with a telemetry payload. */
export function spikeOf(
  intensity: number,
  payload: unknown = { metric: "cpu.util", value: 97.5, z: 4.2 },
  source = "host-a",
): SpikeRecord {
  return {
    timestamp: 9_000,
    source_rank: 0,
    target_rank: 1,
    type: "SENSOR_EVENT",
    payload: JSON.stringify(payload),
    source,
    neuron: 0,
    intensity,
    traceId: "0".repeat(32),
  };
}

/** A ReasoningRequest with a router-like context; `overrides` replace fields. */
export function reasoningRequest(overrides: Partial<ReasoningRequest> = {}): ReasoningRequest {
  return {
    id: "req-1",
    ts: 9_500,
    tier: "phi2",
    route: "single->phi2",
    source: "host-a",
    spikes: [spikeOf(2.4), spikeOf(3.1, { metric: "cpu.util", value: 99.1, z: 5.3 })],
    context: JSON.stringify({
      kind: "single",
      window: { startMs: 0, endMs: 10_000 },
      sources: ["host-a"],
      summary: { count: 2, retained: 2, maxIntensity: 3.1, meanIntensity: 2.75, metrics: {} },
      catalogue: [],
    }),
    deadline: 60_000,
    depth: 0,
    ...overrides,
  };
}
