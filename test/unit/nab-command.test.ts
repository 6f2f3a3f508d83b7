import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseNabTimestamp, readNabCorpus } from "../../cli/nab/corpus.js";
import { NabDetector } from "../../cli/nab/detect.js";
import { runNab } from "../../cli/nab/run-nab.js";
import { buildProgram } from "../../cli/program.js";

const tmp = mkdtempSync(join(os.tmpdir(), "spikemesh-nab-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const STEP_MS = 300_000;
const T0 = Date.UTC(2014, 3, 1);

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

/** A daily sine with a little deterministic noise; `bump` adds a plateau over some records. */
function series(n: number, bump?: { from: number; to: number; by: number }): string {
  const rows = ["timestamp,value"];
  for (let i = 0; i < n; i++) {
    const phase = (2 * Math.PI * (i % 288)) / 288;
    let v = 50 + 20 * Math.sin(phase) + ((i * 7919) % 13) / 6.5 - 1;
    if (bump && i >= bump.from && i < bump.to) v += bump.by;
    rows.push(`${stamp(T0 + i * STEP_MS)},${v.toFixed(3)}`);
  }
  return `${rows.join("\n")}\n`;
}

/** A NAB-shaped corpus: data/<category>/<file>.csv and combined_windows.json beside data/. */
function corpus(): string {
  const root = join(tmp, "nab");
  mkdirSync(join(root, "data", "artificialWithAnomaly"), { recursive: true });
  mkdirSync(join(root, "data", "artificialNoAnomaly"), { recursive: true });
  writeFileSync(join(root, "data", "artificialNoAnomaly", "quiet.csv"), series(2_000));
  writeFileSync(
    join(root, "data", "artificialWithAnomaly", "jump.csv"),
    series(2_000, { from: 1_500, to: 1_560, by: 60 }),
  );
  const windows = {
    "artificialNoAnomaly/quiet.csv": [],
    "artificialWithAnomaly/jump.csv": [
      [`${stamp(T0 + 1_450 * STEP_MS)}.000000`, `${stamp(T0 + 1_549 * STEP_MS)}.000000`],
    ],
  };
  writeFileSync(join(root, "combined_windows.json"), JSON.stringify(windows));
  return root;
}

describe("spikemesh nab", () => {
  const root = corpus();

  it("writes NAB results files row for row and scores them per profile", () => {
    const out = join(tmp, "out");
    const report = runNab({ dataDir: join(root, "data"), outDir: out });
    const file = join(out, "spikemesh", "artificialWithAnomaly", "spikemesh_jump.csv");
    const lines = readFileSync(file, "utf8").trim().split("\n");
    const data = readFileSync(join(root, "data", "artificialWithAnomaly", "jump.csv"), "utf8")
      .trim()
      .split("\n");
    expect(lines[0]).toBe("timestamp,value,anomaly_score,label");
    expect(lines).toHaveLength(data.length);
    for (let i = 1; i < lines.length; i++) {
      const [ts, value, score, label] = lines[i]!.split(",");
      expect(`${ts},${value}`).toBe(data[i]);
      expect(Number(score)).toBeGreaterThanOrEqual(0);
      expect(Number(score)).toBeLessThanOrEqual(1);
      expect(label).toBe(i - 1 >= 1_450 && i - 1 <= 1_549 ? "1" : "0");
    }
    expect(report.profiles.map((p) => p.profile)).toEqual([
      "standard",
      "reward_low_FP_rate",
      "reward_low_FN_rate",
    ]);
    const standard = report.profiles[0]!;
    expect(standard.suppression.windowsCaught).toBe(1);
    expect(standard.normalized).toBeGreaterThan(80);
    expect(report.records).toBe(4_000);
    expect(report.spikeSuppression?.detectionsPer10k).toBeLessThan(100);
  });

  it("is online: a record's score does not depend on the records after it", () => {
    const [jump] = readNabCorpus(join(root, "data")).filter((s) => s.name === "jump");
    const whole = new NabDetector().run(jump!);
    const cut = 1_520;
    const prefix = {
      ...jump!,
      timestamps: jump!.timestamps.slice(0, cut),
      rawValues: jump!.rawValues.slice(0, cut),
      timesMs: jump!.timesMs.slice(0, cut),
      values: jump!.values.slice(0, cut),
    };
    const early = new NabDetector().run(prefix);
    expect(Array.from(early.scores)).toEqual(Array.from(whole.scores.slice(0, cut)));
  });

  it("gives byte-identical results on a second run", () => {
    const a = join(tmp, "a");
    const b = join(tmp, "b");
    runNab({ dataDir: join(root, "data"), outDir: a });
    runNab({ dataDir: join(root, "data"), outDir: b });
    const path = join("spikemesh", "artificialWithAnomaly", "spikemesh_jump.csv");
    expect(readFileSync(join(a, path)).equals(readFileSync(join(b, path)))).toBe(true);
  });

  it("runs as a command with --set overrides and rejects a bad detector name", async () => {
    const out = join(tmp, "cli");
    const write = process.stdout.write;
    let printed = "";
    process.stdout.write = ((chunk: string) => {
      printed += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      await buildProgram().parseAsync(
        ["nab", "--data", join(root, "data"), "--out", out, "--detector", "snn2", "--set", "thresholdJump=2"],
        { from: "user" },
      );
    } finally {
      process.stdout.write = write;
    }
    expect(process.exitCode ?? 0).toBe(0);
    expect(printed).toContain("| standard |");
    expect(readFileSync(join(out, "snn2", "artificialNoAnomaly", "snn2_quiet.csv"), "utf8")).toContain(
      "timestamp,value,anomaly_score,label",
    );
    const stderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await buildProgram().parseAsync(
        ["nab", "--data", join(root, "data"), "--out", out, "--detector", "a_b"],
        {
          from: "user",
        },
      );
      expect(process.exitCode).toBe(2);
    } finally {
      process.stderr.write = stderr;
      process.exitCode = 0;
    }
  });

  it("parses NAB timestamps as UTC", () => {
    expect(parseNabTimestamp("2014-04-10 07:15:00.000000")).toBe(Date.UTC(2014, 3, 10, 7, 15));
    expect(parseNabTimestamp("2014-04-10 07:15:00")).toBe(Date.UTC(2014, 3, 10, 7, 15));
    expect(parseNabTimestamp("10/04/2014")).toBeNaN();
  });
});

describe("spikemesh nab on the public subset", () => {
  // The labelled subset lives beside the repository (../shared/data/nab), not in it.
  const data = join(import.meta.dirname, "..", "..", "..", "shared", "data", "nab", "data");
  it.runIf(readNabCorpusSafe(data))("scores above 50 (standard) with at most 1% of events as spikes", () => {
    const report = runNab({ dataDir: data, outDir: join(tmp, "subset") });
    expect(report.files).toBe(20);
    const standard = report.profiles.find((p) => p.profile === "standard")!;
    expect(standard.normalized).toBeGreaterThan(50);
    expect(report.spikes / report.records).toBeLessThan(0.01);
  });
});

function readNabCorpusSafe(dir: string): boolean {
  try {
    return readNabCorpus(dir).length > 0;
  } catch {
    return false;
  }
}
