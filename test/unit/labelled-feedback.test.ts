import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { routerWindowsClosed } from "../../cli/demo/drain.js";
import { publishLabelledFeedback } from "../../cli/feedback/labelled-replay.js";
import { MESH_TOPICS, meshTopology } from "../../cli/mesh-topology.js";
import { type LabelledWindow, labelledOutcome, windowsOf } from "../../processors/control-sink/index.js";
import type { Feedback, ReasoningRequest, ReasoningResult, SpikeRecord } from "../../schemas/index.js";
import { silentLogger } from "../../streams/logger.js";
import { runRecording } from "../../streams/replay/index.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/recordings/demo-2h.smrec", import.meta.url));
const LABELS = JSON.parse(
  readFileSync(new URL("../fixtures/recordings/demo-2h.labels.json", import.meta.url), "utf8"),
) as LabelledWindow[];

const spike = (source: string, timestamp: number, metric: string): SpikeRecord =>
  ({ source, timestamp, payload: JSON.stringify({ metric }) }) as SpikeRecord;
const result = (verdict: ReasoningResult["verdict"], error: string | null = null): ReasoningResult =>
  ({
    id: "r",
    route: "single:phi2",
    tier: "phi2",
    verdict,
    confidence: 0.8,
    error,
    latencyMs: 10,
  }) as ReasoningResult;

describe("labelled feedback", () => {
  const window: LabelledWindow = {
    name: "storm",
    sources: ["h1"],
    metric: "disk",
    startMs: 1_000,
    endMs: 2_000,
  };

  it("calls right answers USEFUL and wrong ones NOT_USEFUL; failures stay ERROR or TIMEOUT", () => {
    const inside = { spikes: [spike("h1", 1_500, "disk")] };
    const outside = { spikes: [spike("h1", 2_500, "disk")] };
    const otherMetric = { spikes: [spike("h1", 1_500, "cpu")] };
    const otherSource = { spikes: [spike("h2", 1_500, "disk")] };
    expect(labelledOutcome(inside, result("INCIDENT"), [window])).toBe("USEFUL");
    expect(labelledOutcome(inside, result("NORMAL"), [window])).toBe("NOT_USEFUL");
    expect(labelledOutcome(outside, result("ANOMALY"), [window])).toBe("NOT_USEFUL");
    expect(labelledOutcome(outside, result("NORMAL"), [window])).toBe("USEFUL");
    expect(labelledOutcome(otherMetric, result("ANOMALY"), [window])).toBe("NOT_USEFUL");
    expect(labelledOutcome(otherSource, result("UNKNOWN"), [window])).toBe("USEFUL");
    expect(labelledOutcome(inside, result("UNKNOWN", "deadline exceeded after 2 attempt(s)"), [window])).toBe(
      "TIMEOUT",
    );
    expect(labelledOutcome(inside, result("UNKNOWN", "HTTP 500"), [window])).toBe("ERROR");
    // Window edges are inclusive.
    expect(windowsOf({ spikes: [spike("h1", 2_000, "disk")] }, [window])).toEqual([window]);
  });

  it("publishes one judged Feedback per answered request of a replayed run, on the feedback topic", async () => {
    const JUDGED_AT = 4_242;
    let report: Awaited<ReturnType<typeof publishLabelledFeedback>> | undefined;
    const out = await runRecording(
      FIXTURE,
      meshTopology({ appId: "labelled", partitions: 2, options: { router: { idleFlushMs: 300 } } }),
      {
        settled: routerWindowsClosed,
        seed: 3,
        afterRun: async (runtime) => {
          report = await publishLabelledFeedback({ ...runtime, close: async () => {} }, LABELS, {
            log: silentLogger(),
            signal: new AbortController().signal,
            nowMs: JUDGED_AT,
          });
        },
      },
    );
    const requests = ["rules", "phi2", "deepseek"].flatMap((t) =>
      (out.get(MESH_TOPICS[t as "rules"]) ?? []).map((r) => r.decoded as ReasoningRequest),
    );
    const results = (out.get(MESH_TOPICS.results) ?? []).map((r) => r.decoded as ReasoningResult);
    const feedback = (out.get("feedback") ?? []).map((r) => r.decoded as Feedback);
    const judged = feedback.filter((f) => f.ts === JUDGED_AT);

    expect(results.length).toBeGreaterThan(0);
    expect(report).toMatchObject({
      requests: requests.length,
      results: results.length,
      unmatched: 0,
      undecodable: 0,
    });
    expect(judged).toHaveLength(results.length);
    expect(Object.values(report!.byOutcome).reduce((a, b) => a + b, 0)).toBe(results.length);
    // Every result is judged once, against the spikes of its own request.
    const byId = new Map(requests.map((r) => [r.id, r]));
    for (const f of judged) {
      const res = results.find((r) => r.id === f.requestId)!;
      expect(f).toMatchObject({ route: res.route, tier: res.tier, latencyMs: res.latencyMs });
      expect(f.outcome).toBe(labelledOutcome(byId.get(f.requestId)!, res, LABELS));
    }
    // The fixture's incidents are escalated and judged: some answers are right inside a window.
    const insideUseful = judged.filter(
      (f) => f.outcome === "USEFUL" && windowsOf(byId.get(f.requestId)!, LABELS).length > 0,
    );
    expect(insideUseful.length).toBeGreaterThan(0);
  }, 240_000);
});
