import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ERROR_LINE_KINDS, LogGenerator } from "../../cli/demo/log-generator.js";
import { buildProgram } from "../../cli/program.js";
import { csvField, parseCsv } from "../../cli/templates/csv.js";
import { groupingAccuracy } from "../../cli/templates/grouping-accuracy.js";

const tmp = mkdtempSync(join(os.tmpdir(), "spikemesh-templates-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 0, 1);

/** Runs `spikemesh <args>` in process; returns its exit code and what it printed. */
async function spikemesh(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((chunk: string) => {
    stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    await buildProgram().parseAsync(args, { from: "user" });
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = 0;
  }
}

/** The output CSV's rows after the header, checked against the header. */
function readOutput(path: string): Array<{ lineId: number; templateId: number; template: string }> {
  const [header, ...rows] = parseCsv(readFileSync(path, "utf8"));
  expect(header).toEqual(["LineId", "TemplateId", "Template"]);
  return rows.map((r) => {
    expect(r).toHaveLength(3);
    return { lineId: Number(r[0]), templateId: Number(r[1]), template: r[2]! };
  });
}

describe("spikemesh templates", () => {
  const generator = new LogGenerator({
    startMs: T0,
    durationMs: 3_600_000,
    sources: ["a", "b"],
    linesPerSec: 1,
    incidents: ERROR_LINE_KINDS.map((k, i) => ({
      name: k.id,
      sources: ["b"],
      kind: k.id,
      startMs: T0 + (i + 1) * 1_200_000,
      endMs: T0 + (i + 1) * 1_200_000 + 300_000,
      ratePerSec: 0.3,
    })),
    seed: 23,
  });
  const lines = [...generator.lines()];
  const logPath = join(tmp, "generated.log");
  writeFileSync(logPath, `${lines.map((l) => l.event.message).join("\n")}\n`);

  it("writes LineId,TemplateId,Template for every line, grouped exactly as the generator's labels", async () => {
    const out = join(tmp, "generated.csv");
    const run = await spikemesh("templates", "--in", logPath, "--out", out);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${lines.length.toLocaleString("en-US")} lines, 10 templates -> ${out}`);
    const rows = readOutput(out);
    expect(rows.map((r) => r.lineId)).toEqual(lines.map((_, i) => i + 1));
    const report = groupingAccuracy(
      rows.map((r) => r.templateId),
      lines.map((l) => l.label),
    );
    expect(report).toMatchObject({ accuracy: 1, trueGroups: 10, predictedGroups: 10 });
    const textOf = new Map<number, string>();
    for (const r of rows) {
      expect(textOf.get(r.templateId) ?? r.template).toBe(r.template);
      textOf.set(r.templateId, r.template);
    }
    expect([...textOf.values()]).toContain("User <*> logged in from <*>");
    expect([...textOf.values()]).toContain("Cache <*> for key <*>");
  });

  it("scores the grouping against a labelled CSV (Loghub's structured layout)", async () => {
    const labelsPath = join(tmp, "labels.csv");
    const rows = lines.map((l, i) => [i + 1, "x", l.event.message, l.label].map(csvField).join(","));
    writeFileSync(labelsPath, `LineId,Level,Content,EventId\n${rows.join("\n")}\n`);
    const run = await spikemesh(
      "templates",
      "--in",
      logPath,
      "--out",
      join(tmp, "scored.csv"),
      "--labels",
      labelsPath,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `grouping accuracy 1.0000 against ${labelsPath}: ${lines.length.toLocaleString("en-US")}/${lines.length.toLocaleString("en-US")}`,
    );
    // Mining with similarity 1 splits the kinds whose word variables only merging generalises.
    const strict = await spikemesh(
      "templates",
      "--in",
      logPath,
      "--out",
      join(tmp, "strict.csv"),
      "--labels",
      labelsPath,
      "--similarity",
      "1",
    );
    const accuracy = Number(/grouping accuracy ([\d.]+)/.exec(strict.stdout)?.[1]);
    expect(accuracy).toBeLessThan(1);
  });

  it("quotes templates holding commas and quotes, and numbers CRLF, blank and unterminated lines", async () => {
    const inPath = join(tmp, "odd.log");
    const text = [
      '\ufeffSet "mode", to fast, retry 3',
      'Set "mode", to slow, retry 12',
      "",
      "plain line",
      'Set "mode", to fast, retry 4',
    ].join("\r\n");
    writeFileSync(inPath, text);
    const out = join(tmp, "odd.csv");
    expect((await spikemesh("templates", "--in", inPath, "--out", out)).code).toBe(0);
    expect(readFileSync(out, "utf8")).toContain('1,1,"Set ""mode"", to <*> retry <*>"\n');
    const rows = readOutput(out);
    expect(rows).toEqual([
      { lineId: 1, templateId: 1, template: 'Set "mode", to <*> retry <*>' },
      { lineId: 2, templateId: 1, template: 'Set "mode", to <*> retry <*>' },
      { lineId: 3, templateId: 2, template: "" },
      { lineId: 4, templateId: 3, template: "plain line" },
      { lineId: 5, templateId: 1, template: 'Set "mode", to <*> retry <*>' },
    ]);
  });

  it("leaves lines over --max-line-bytes unmined (TemplateId 0) and says which", async () => {
    const inPath = join(tmp, "long.log");
    writeFileSync(inPath, `short line 1\n${"x".repeat(5_000)}\nshort line 2\n`);
    const out = join(tmp, "long.csv");
    const run = await spikemesh("templates", "--in", inPath, "--out", out, "--max-line-bytes", "100");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("1 line(s) over --max-line-bytes 100 not mined (TemplateId 0): LineId 2");
    expect(readOutput(out).map((r) => r.templateId)).toEqual([1, 0, 1]);
  });

  it("fails with a clear message for a missing input or a bad miner configuration", async () => {
    const missing = await spikemesh("templates", "--in", join(tmp, "nope.log"), "--out", join(tmp, "x.csv"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.log: no such file");
    const config = join(tmp, "bad.yaml");
    writeFileSync(config, "nodes:\n  snn-log-filter:\n    miner:\n      similarity: 2\n");
    const bad = await spikemesh(
      "--config",
      config,
      "templates",
      "--in",
      logPath,
      "--out",
      join(tmp, "y.csv"),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("nodes.snn-log-filter.miner.similarity");
  });
});

describe("csv", () => {
  it("round-trips fields through csvField and parseCsv", () => {
    const rows = [
      ["a", 'say "hi", then go', "line\nbreak", ""],
      ["1", "2", "3", "4"],
    ];
    const text = `${rows.map((r) => r.map(csvField).join(",")).join("\r\n")}\r\n`;
    expect(parseCsv(text)).toEqual(rows);
    expect(() => parseCsv('a,"open\n')).toThrow(/line 1/);
  });
});
