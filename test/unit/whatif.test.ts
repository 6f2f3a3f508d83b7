import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../cli/config.js";
import { formatWhatIf, type LabelledWindow, whatIfRun } from "../../cli/whatif.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/recordings/demo-2h.smrec", import.meta.url));
const LABELS = JSON.parse(
  readFileSync(new URL("../fixtures/recordings/demo-2h.labels.json", import.meta.url), "utf8"),
) as LabelledWindow[];

describe("whatif", { timeout: 120_000 }, () => {
  it("compares two configurations over a recording, scoring labelled windows", async () => {
    const base = loadConfig({ env: {}, flags: {} });
    const deaf = loadConfig({ env: {}, flags: { nodes: { "snn-filter": { zDeadband: 1_000 } } } });
    const a = await whatIfRun(FIXTURE, "default", base, { labels: LABELS, prices: { deepseek: 0.002 } });
    const b = await whatIfRun(FIXTURE, "deaf", deaf, { labels: LABELS });

    expect(a.events).toBe(17_280);
    expect(a.spikes).toBeGreaterThan(0);
    expect(a.windows?.caught).toHaveLength(LABELS.length);
    const requests = Object.values(a.escalations).reduce((x, y) => x + y, 0);
    expect(Object.values(a.verdicts).reduce((x, y) => x + y, 0)).toBe(requests);
    expect(a.estimatedCost).toBeCloseTo(((a.estimatedTokens.deepseek ?? 0) / 1000) * 0.002, 10);

    // A filter that never fires escalates nothing and misses every window.
    expect(b.spikes).toBe(0);
    expect(Object.values(b.escalations).every((n) => n === 0)).toBe(true);
    expect(b.windows?.missed).toEqual(LABELS.map((l) => l.name));

    const table = formatWhatIf(a, b);
    expect(table).toContain("A: default");
    expect(table).toMatch(
      new RegExp(`labelled windows caught\\s+${LABELS.length}/${LABELS.length}\\s+0/${LABELS.length}`),
    );
  });
});
