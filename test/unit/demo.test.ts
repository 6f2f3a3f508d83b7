import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../cli/config.js";
import { runDemo } from "../../cli/demo/run-demo.js";
import { openRuntime, type Runtime } from "../../cli/runtime.js";
import { silentLogger } from "../../streams/logger.js";
import { tempDir } from "./helpers/temp-dir.js";

describe("demo on the embedded runtime", { timeout: 60_000 }, () => {
  let runtime: Runtime;
  let remove: () => Promise<void>;

  beforeEach(async () => {
    const t = await tempDir("spikemesh-demo-");
    remove = t.remove;
    runtime = await openRuntime(loadConfig({ env: {}, flags: { dataDir: t.dir } }), silentLogger());
  });
  afterEach(async () => {
    await runtime.close();
    await remove();
  });

  it("drains the whole mesh and reports numbers that agree with each other", async () => {
    const config = loadConfig({ env: {}, flags: {} });
    const { summary } = await runDemo(runtime, config, silentLogger(), {
      durationMs: 6 * 3_600_000,
      stepMs: 10_000,
      hosts: 6,
      seed: 7,
      keepRunning: false,
      signal: new AbortController().signal,
    });
    // Telemetry samples plus log lines (about 0.3 per second per host).
    expect(summary.logLines).toBeGreaterThan(6 * 6 * 3_600 * 0.25);
    expect(summary.events).toBe(6 * 4 * 2_160 + summary.logLines);
    expect(summary.spikes).toBeGreaterThan(0);
    expect(summary.spikes).toBeLessThan(summary.events / 100);
    const requests = Object.values(summary.escalations).reduce((a, b) => a + b, 0);
    const results = Object.values(summary.verdicts).reduce((a, b) => a + b, 0);
    const feedback = Object.values(summary.feedback).reduce((a, b) => a + b, 0);
    // Drained: every request was answered, every answer turned into feedback.
    expect(requests).toBeGreaterThan(0);
    expect(results).toBe(requests);
    expect(feedback).toBe(results);
    expect(summary.routeWeights.reduce((n, w) => n + w.updates, 0)).toBe(feedback);
    expect(summary.deadLetters).toEqual({});
    for (const incident of summary.incidents) {
      expect(incident.spikes, incident.name).toBeGreaterThan(0);
      expect(incident.escalatedTo.length, incident.name).toBeGreaterThan(0);
    }
    expect(Object.keys(summary.models).every((m) => m.includes("rules"))).toBe(true);
  });
});
