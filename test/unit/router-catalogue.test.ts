import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Catalogue, globToRegExp, parseCatalogue } from "../../processors/router/index.js";
import { ConfigError } from "../../streams/index.js";

const DEFAULT_CATALOGUE = resolve(import.meta.dirname, "../../topologies/catalogue.yaml");

function problemsOf(text: string): string[] {
  try {
    parseCatalogue(text, "c.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error("expected the catalogue to be rejected");
}

const spike = (metric: string, intensity: number, source = "host-a") => ({ source, metric, intensity });

describe("catalogue validation", () => {
  it("parses the default catalogue", () => {
    const entries = parseCatalogue(readFileSync(DEFAULT_CATALOGUE, "utf8"), "catalogue.yaml");
    expect(entries.map((e) => e.id)).toEqual(
      expect.arrayContaining([
        "disk-io-storm",
        "cpu-saturation",
        "memory-leak-trend",
        "http-error-burst",
        "net-in-flapping",
      ]),
    );
    expect(entries.some((e) => e.suppress)).toBe(true);
  });

  it("names the entry index and field of every problem", () => {
    const problems = problemsOf(
      [
        "entries:",
        "  - id: ok",
        "    metric: cpu.util",
        "    verdict: ANOMALY",
        "  - id: bad",
        "    metric: disk.*",
        "    minIntensity: -1",
        "    minSpikes: 1.5",
        "    verdict: PANIC",
        "    minIntesity: 2",
      ].join("\n"),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^c\.yaml: entries\[1\]\.minIntensity: /),
        expect.stringMatching(/^c\.yaml: entries\[1\]\.minSpikes: /),
        expect.stringMatching(/^c\.yaml: entries\[1\]\.verdict: /),
        "c.yaml: entries[1].minIntesity: unknown field",
      ]),
    );
    expect(problems.some((p) => p.includes("entries[0]"))).toBe(false);
  });

  it("requires a verdict unless the entry suppresses, and unique ids", () => {
    const problems = problemsOf(
      [
        "entries:",
        "  - {id: a, metric: x}",
        "  - {id: b, metric: y, suppress: true}",
        "  - {id: b, metric: z, verdict: NORMAL}",
      ].join("\n"),
    );
    expect(problems).toEqual([
      "c.yaml: entries[0].verdict: required unless suppress: true",
      expect.stringMatching(/^c\.yaml: entries\[2\]\.id: duplicate id/),
    ]);
  });

  it("reports YAML syntax errors with the file", () => {
    expect(problemsOf("entries: [")[0]).toMatch(/^c\.yaml: not valid YAML/);
  });
});

describe("catalogue matching", () => {
  it("matches exact names and globs", () => {
    expect(globToRegExp("disk.*").test("disk.write_bytes")).toBe(true);
    expect(globToRegExp("disk.*").test("diskxwrite")).toBe(false);
    expect(globToRegExp("cpu.util").test("cpu.utilization")).toBe(false);
    expect(globToRegExp("http.5??").test("http.503")).toBe(true);
  });

  it("counts only spikes over minIntensity and needs minSpikes and minSources", () => {
    const catalogue = new Catalogue(
      parseCatalogue(
        [
          "entries:",
          "  - {id: storm, metric: 'disk.*', minIntensity: 2, minSpikes: 2, verdict: INCIDENT, action: notify}",
          "  - {id: fleet, metric: cpu.util, minSources: 2, verdict: ESCALATE}",
        ].join("\n"),
      ),
    );
    expect(catalogue.match([spike("disk.write_bytes", 3), spike("disk.write_bytes", 1)])).toEqual([]);
    const [storm] = catalogue.match([spike("disk.write_bytes", 3), spike("disk.io_wait", 2.5)]);
    expect(storm).toMatchObject({
      id: "storm",
      verdict: "INCIDENT",
      action: "notify",
      matchedSpikes: 2,
      matchedSources: 1,
    });
    expect(catalogue.match([spike("cpu.util", 2), spike("cpu.util", 2)])).toEqual([]);
    expect(catalogue.match([spike("cpu.util", 2), spike("cpu.util", 2, "host-b")])[0]?.id).toBe("fleet");
  });

  it("lets a suppressing entry match only when it covers every spike", () => {
    const catalogue = new Catalogue(
      parseCatalogue("entries:\n  - {id: flap, metric: net.in_bytes, maxIntensity: 1.5, suppress: true}\n"),
    );
    expect(catalogue.match([spike("net.in_bytes", 1.1), spike("net.in_bytes", 1.2)])[0]?.suppress).toBe(true);
    expect(catalogue.match([spike("net.in_bytes", 1.1), spike("net.in_bytes", 4)])).toEqual([]);
    expect(catalogue.match([spike("net.in_bytes", 1.1), spike("cpu.util", 1.1)])).toEqual([]);
  });
});
