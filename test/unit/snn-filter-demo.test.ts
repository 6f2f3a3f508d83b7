import { describe, expect, it } from "vitest";
import { TelemetryGenerator } from "../../cli/demo/telemetry-generator.js";
import {
  type SnnFilterOptions,
  type SnnFilterOutputs,
  snnFilterSpec,
} from "../../processors/snn-filter/index.js";
import type { TelemetryEvent } from "../../schemas/index.js";
import { ProcessorTestDriver } from "../../streams/index.js";

describe("snn-filter on the demo telemetry (default run: 6 h, 6 hosts x 4 metrics, 10 s step)", () => {
  it("spikes within every labelled incident and suppresses at least 95% of events", async () => {
    const generator = new TelemetryGenerator();
    const d = new ProcessorTestDriver<TelemetryEvent, SnnFilterOutputs, SnnFilterOptions>(snnFilterSpec, {});
    let events = 0;
    for (const batch of generator.batches()) {
      for (const e of batch) await d.pipe({ key: e.source, value: e, timestampMs: e.ts });
      events += batch.length;
    }
    await d.close();
    const spikes = d.read("spikes").map((r) => ({
      ...r.value,
      metric: (JSON.parse(r.value.payload) as { metric: string }).metric,
    }));

    expect(events).toBe(generator.totalEvents);
    expect(d.dlq).toEqual([]);
    const suppression = 1 - spikes.length / events;
    expect(suppression).toBeGreaterThanOrEqual(0.95);

    // Every source of every incident spikes on the incident's metric inside its window.
    const missed: string[] = [];
    const delays: number[] = [];
    for (const incident of generator.incidents) {
      for (const source of incident.sources) {
        const first = spikes.find(
          (s) =>
            s.source === source &&
            s.metric === incident.metric &&
            s.timestamp >= incident.startMs &&
            s.timestamp < incident.endMs,
        );
        if (first) delays.push(first.timestamp - incident.startMs);
        else missed.push(`${incident.name} on ${source}`);
      }
    }
    expect(missed).toEqual([]);
    // Caught on arrival: within two samples of the incident's start.
    expect(Math.max(...delays)).toBeLessThanOrEqual(2 * generator.stepMs);
  });
});
