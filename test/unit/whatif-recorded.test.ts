import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import avro from "avsc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../cli/config.js";
import { routerWindowsClosed } from "../../cli/demo/drain.js";
import { MESH_TOPICS, meshTopology } from "../../cli/mesh-topology.js";
import { formatWhatIf, whatIfRun } from "../../cli/whatif.js";
import { createTierBackend, RecordedBackend } from "../../processors/escalation-tier/index.js";
import {
  type ReasoningRequest,
  type ReasoningResult,
  type RecordType,
  recordTypes,
} from "../../schemas/index.js";
import { isSpikemeshError } from "../../streams/index.js";
import { RecordingReader, RecordingWriter, runRecording } from "../../streams/replay/index.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/recordings/demo-2h.smrec", import.meta.url));

/**
 * An earlier run "A" of the mesh over the fixture, recorded like a user would with
 * `spikemesh record --topics telemetry.raw,escalations.*,reasoning.results`: the input telemetry,
 * and the requests and results of a run whose model tiers said NORMAL to everything (a rules backend
 * with unreachable thresholds, named "model-a"), which no default backend would answer.
 */
async function recordRunA(path: string): Promise<ReasoningResult[]> {
  const nodes = Object.fromEntries(
    ["phi2", "deepseek"].map((t) => [
      `tier-${t}`,
      { backend: { kind: "rules", model: "model-a", anomalyIntensity: 1e9, incidentIntensity: 1e9 } },
    ]),
  );
  const topology = meshTopology({
    appId: "run-a",
    partitions: 2,
    options: { ...nodes, router: { idleFlushMs: 300 } },
  });
  const out = await runRecording(FIXTURE, topology, { settled: routerWindowsClosed, seed: 1 });

  const writer = new RecordingWriter(path);
  const input = new RecordingReader(FIXTURE);
  for (const rec of input.records()) {
    for (const s of input.schemas.values()) writer.addSchema(s);
    writer.write(rec);
  }
  let nextId = 1000;
  const encodeAll = <T>(topic: string, type: RecordType<T>) => {
    const id = nextId++;
    writer.addSchema({ id, subject: `${topic}-value`, schema: JSON.stringify(type.schema) });
    const avroType = avro.Type.forSchema(type.schema as unknown as avro.Schema);
    const header = Buffer.alloc(5);
    header.writeInt32BE(id, 1);
    for (const r of out.get(topic) ?? [])
      writer.write({ ...r, value: Buffer.concat([header, avroType.toBuffer(r.decoded)]) });
    return (out.get(topic) ?? []).map((r) => r.decoded as T);
  };
  encodeAll<ReasoningRequest>(MESH_TOPICS.phi2, recordTypes.ReasoningRequest);
  encodeAll<ReasoningRequest>(MESH_TOPICS.deepseek, recordTypes.ReasoningRequest);
  const results = encodeAll<ReasoningResult>(MESH_TOPICS.results, recordTypes.ReasoningResult);
  writer.close();
  return results;
}

describe("recorded answers", { timeout: 240_000 }, () => {
  let dir: string;
  let recording: string;
  let recordedModelResults: ReasoningResult[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "spikemesh-recorded-"));
    recording = join(dir, "run-a.smrec");
    const results = await recordRunA(recording);
    recordedModelResults = results.filter((r) => r.tier !== "rules");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("answer the model tiers with the recorded verdicts, and fall back to rules for cases the recording lacks", async () => {
    expect(recordedModelResults.length).toBeGreaterThan(0);
    expect(new Set(recordedModelResults.map((r) => r.verdict))).toEqual(new Set(["NORMAL"]));

    const base = loadConfig({ env: {}, flags: {} });
    const recorded = await whatIfRun(recording, "recorded", base, {
      answers: { kind: "recorded", file: recording },
    });
    const rules = await whatIfRun(recording, "rules", base, { answers: { kind: "rules" } });

    // The same configuration routes the same cases: every model-tier request finds its recorded answer.
    const modelRequests = (r: typeof recorded) => (r.escalations.phi2 ?? 0) + (r.escalations.deepseek ?? 0);
    expect(recorded.recordedAnswers).toEqual({ recorded: modelRequests(recorded), missing: 0 });
    // The rules heuristic judges the same spikes ANOMALY or INCIDENT; the recording said NORMAL.
    const nonNormal = (r: typeof recorded) =>
      Object.entries(r.verdicts).reduce((n, [v, c]) => n + (v === "NORMAL" ? 0 : c), 0);
    expect(nonNormal(rules)).toBeGreaterThan(nonNormal(recorded));
    expect(rules.recordedAnswers).toBeUndefined();

    // Other windows give other request ids: the cases are still found (same source, first spike).
    const wide = loadConfig({ env: {}, flags: { nodes: { router: { windowMs: 30_000 } } } });
    const widened = await whatIfRun(recording, "wide", wide, {
      answers: { kind: "recorded", file: recording },
    });
    expect(widened.recordedAnswers).toEqual({ recorded: modelRequests(widened), missing: 0 });
    // A more sensitive filter escalates cases run A never saw: the rules heuristic answers those.
    const eager = loadConfig({ env: {}, flags: { nodes: { "snn-filter": { zDeadband: 1 } } } });
    const other = await whatIfRun(recording, "eager", eager, {
      answers: { kind: "recorded", file: recording },
    });
    expect(other.recordedAnswers!.recorded + other.recordedAnswers!.missing).toBe(modelRequests(other));
    expect(other.recordedAnswers!.missing).toBeGreaterThan(0);
    expect(formatWhatIf(recorded, other)).toMatch(
      /answered from recording\s+\d+ \(0 not recorded\)\s+\d+ \([1-9]\d* not recorded\)/,
    );
  });

  it("replays a recorded failure as a failure, and `missing: error` fails unknown requests", async () => {
    const hit = recordedModelResults[0]!;
    const backend = new RecordedBackend({
      kind: "recorded",
      file: recording,
      resultsTopic: MESH_TOPICS.results,
      match: "id",
      missing: "error",
      model: "recorded",
    });
    await backend.open();
    const request = { id: hit.id, source: hit.source, spikes: [] } as unknown as ReasoningRequest;
    const answer = await backend.answer(request, new AbortController().signal);
    expect(answer).toMatchObject({ verdict: hit.verdict, confidence: hit.confidence, summary: hit.summary });
    await expect(
      backend.answer({ ...request, id: "not-a-request" }, new AbortController().signal),
    ).rejects.toThrow(/no recorded result for request not-a-request/);
  });

  it("names the file when the recording is missing or holds no results", async () => {
    for (const file of [join(dir, "nope.smrec"), FIXTURE]) {
      const backend = createTierBackend(
        {
          kind: "recorded",
          file,
          resultsTopic: MESH_TOPICS.results,
          match: "id",
          missing: "rules",
          model: "r",
        },
        "phi2",
      );
      const err = await backend.open!(new AbortController().signal).catch((e: unknown) => e);
      expect(isSpikemeshError(err) && err.code).toBe("CONFIG_INVALID");
      expect((err as Error).message).toMatch(/backend\.file: /);
      expect((err as Error).message).toContain(file);
    }
  });
});
