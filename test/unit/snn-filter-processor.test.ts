import type { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { TelemetryGenerator } from "../../cli/demo/telemetry-generator.js";
import {
  type KeyState,
  NEURON_ROLES,
  ROUTER_RANK,
  type SnnFilterOptions,
  type SnnFilterOutputs,
  snnFilterOptions,
  snnFilterSpec,
  TelemetryNetwork,
  traceIdOf,
} from "../../processors/snn-filter/index.js";
import { keyStateSchema } from "../../processors/snn-filter/key-state.js";
import { recordTypes, type SpikeRecord, type TelemetryEvent } from "../../schemas/index.js";
import { type PipeInput, ProcessorTestDriver, type Rec, seededRandom } from "../../streams/index.js";
import { encodeAvro } from "../../streams/topology/local-codec.js";

type SnnDriver = ProcessorTestDriver<TelemetryEvent, SnnFilterOutputs, SnnFilterOptions>;

const drivers: SnnDriver[] = [];

function driver(options: Record<string, unknown> = {}, partition = 0): SnnDriver {
  const d = new ProcessorTestDriver(snnFilterSpec, options, { partition, topic: "telemetry.raw" });
  drivers.push(d);
  return d;
}

afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

const T0 = Date.UTC(2026, 0, 1);
const STEP_MS = 10_000;

function event(ts: number, value: number, source = "host-a", metric = "cpu.util"): PipeInput<TelemetryEvent> {
  return { key: source, timestampMs: ts, value: { ts, source, metric, value, tags: {} } };
}

/** `n` samples of `mean` + Gaussian noise (seeded), one per STEP_MS from `startMs`. */
function noisy(n: number, mean: number, sd: number, seed: number, startMs = T0): PipeInput<TelemetryEvent>[] {
  const random = seededRandom(seed);
  const out: PipeInput<TelemetryEvent>[] = [];
  for (let i = 0; i < n; i++) {
    const gaussian = Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
    out.push(event(startMs + i * STEP_MS, mean + sd * gaussian));
  }
  return out;
}

function demoInputs(options: ConstructorParameters<typeof TelemetryGenerator>[0] = {}) {
  const generator = new TelemetryGenerator(options);
  const inputs: PipeInput<TelemetryEvent>[] = [];
  for (const batch of generator.batches()) {
    for (const e of batch) inputs.push({ key: e.source, value: e, timestampMs: e.ts });
  }
  return { generator, inputs };
}

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

/** The spikes as the bytes the `spikes` topic would carry (Avro body) plus key and timestamp. */
function spikeBytes(recs: Rec<SpikeRecord>[]): Buffer {
  return Buffer.concat(
    recs.map((r) =>
      Buffer.concat([
        Buffer.from(`${r.key}\t${r.timestampMs}\t`),
        encodeAvro(recordTypes.SpikeRecord.schema, r.value, "spike"),
      ]),
    ),
  );
}

describe("snn-filter: filtering", () => {
  it("emits nothing for a flat signal", async () => {
    const d = driver();
    await d.pipeAll(Array.from({ length: 500 }, (_, i) => event(T0 + i * STEP_MS, 42.5)));
    expect(d.read("spikes")).toEqual([]);
    expect(d.dlq).toEqual([]);
  });

  it("emits almost nothing for a noisy steady signal", async () => {
    const d = driver();
    const inputs = [1, 2, 3, 4].flatMap((seed) =>
      noisy(1_000, 50, 2, seed).map((e) => event(e.value.ts, e.value.value, `host-${seed}`)),
    );
    await d.pipeAll(inputs);
    const spikes = d.read("spikes").length;
    expect(spikes / inputs.length).toBeLessThan(0.005);
  });

  it("stays silent during warm-up, however wild the signal", async () => {
    const d = driver({ warmupSamples: 30 });
    await d.pipeAll(Array.from({ length: 30 }, (_, i) => event(T0 + i * STEP_MS, i % 2 === 0 ? 0 : 1e6)));
    expect(d.read("spikes")).toEqual([]);
  });

  it("emits a SpikeRecord at the event time of a step change, with its context", async () => {
    const d = driver({}, 3);
    const before = noisy(100, 50, 1, 11);
    await d.pipeAll(before);
    expect(d.read("spikes")).toEqual([]);
    const ts = T0 + 100 * STEP_MS;
    await d.pipe(event(ts, 80));
    const [spike, ...rest] = d.read("spikes");
    expect(rest).toEqual([]);
    expect(spike?.key).toBe("host-a");
    expect(spike?.timestampMs).toBe(ts);
    const v = spike?.value as SpikeRecord;
    expect(v).toMatchObject({
      timestamp: ts,
      type: "SENSOR_EVENT",
      source_rank: 3,
      target_rank: ROUTER_RANK,
      source: "host-a",
      traceId: traceIdOf("host-a/cpu.util", ts),
    });
    expect(v.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(v.intensity).toBeGreaterThanOrEqual(1);
    const payload = JSON.parse(v.payload);
    expect(Object.keys(payload)).toEqual([
      "metric",
      "value",
      "role",
      "z",
      "basis",
      "dz",
      "min",
      "max",
      "mean",
    ]);
    expect(payload).toMatchObject({
      metric: "cpu.util",
      value: 80,
      role: NEURON_ROLES[v.neuron],
      basis: "level",
      max: 80,
    });
    expect(payload.z).toBeGreaterThan(20);
    expect(payload.dz).toBeGreaterThan(10);
    expect(payload.min).toBeLessThan(50);
    expect(payload.mean).toBeGreaterThan(50);
    expect(await metric(d.metrics, "spikemesh_snn_spikes_total")).toBe(1);
    expect(await metric(d.metrics, "spikemesh_snn_events_total")).toBe(101);
    expect(await metric(d.metrics, "spikemesh_snn_keys")).toBe(1);
  });

  it("gives byte-identical spikes for the same input twice", async () => {
    const { inputs } = demoInputs({ durationMs: 2 * 3600_000 });
    const a = driver();
    const b = driver();
    await a.pipeAll(inputs);
    await b.pipeAll(inputs);
    const spikesA = a.read("spikes");
    expect(spikesA.length).toBeGreaterThan(0);
    expect(spikeBytes(b.read("spikes")).equals(spikeBytes(spikesA))).toBe(true);
  });
});

describe("snn-filter: state", () => {
  it("resumes after restart() exactly where an uninterrupted run would be", async () => {
    const { generator, inputs } = demoInputs({ durationMs: 2 * 3600_000 });
    const whole = driver();
    await whole.pipeAll(inputs);
    const expected = whole.read("spikes");

    // Restart after every spike (thresholds raised, neurons refractory) and inside each incident.
    const restartAt = new Set(generator.incidents.map((i) => i.startMs + 2 * generator.stepMs));
    const d = driver();
    const got: Rec<SpikeRecord>[] = [];
    let restarts = 0;
    for (const input of inputs) {
      await d.pipe(input);
      const out = d.read("spikes");
      got.push(...out);
      if (out.length > 0 || restartAt.delete(input.value.ts)) {
        await d.restart();
        restarts++;
      }
    }
    expect(restarts).toBeGreaterThan(expected.length);
    expect(spikeBytes(got).equals(spikeBytes(expected))).toBe(true);
  });

  it("recognises a stored state of another shape, so the key warms up again instead", () => {
    const network = new TelemetryNetwork(snnFilterOptions.parse({}));
    for (let i = 0; i < 50; i++) network.observe("host-a/cpu.util", T0 + i * STEP_MS, 40 + (i % 3));
    const state = JSON.parse(JSON.stringify(network.snapshot("host-a/cpu.util"))) as KeyState;
    expect(keyStateSchema.safeParse(state).success).toBe(true);
    const threeNeurons = { ...state, lif: { ...state.lif, potential: [0, 0, 0] } };
    expect(keyStateSchema.safeParse(threeNeurons).success).toBe(false);
    expect(keyStateSchema.safeParse({ ...state, version: 1 }).success).toBe(false);
    // Option-dependent sizes (seasonal bins) pass the shape check but not restore(); the filter then
    // drops the state and the key starts from rest.
    const other = new TelemetryNetwork(snnFilterOptions.parse({ seasonBins: 24 }));
    expect(() => other.restore("host-a/cpu.util", state)).toThrow(RangeError);
    expect(other.lastTimeOf("host-a/cpu.util")).toBeUndefined();
    const same = new TelemetryNetwork(snnFilterOptions.parse({}));
    same.restore("host-a/cpu.util", state);
    expect(same.snapshot("host-a/cpu.util")).toEqual(state);
  });
});

describe("snn-filter: input rules", () => {
  const warm = () => noisy(60, 50, 1, 5);
  const rest = () => noisy(40, 50, 1, 6, T0 + 60 * STEP_MS).concat(event(T0 + 100 * STEP_MS, 90));

  it("dead-letters non-finite and out-of-range values, empty fields and too-late samples", async () => {
    const last = T0 + 59 * STEP_MS;
    const bad = [
      { input: event(last, Number.NaN), reason: "non_finite", text: "NaN" },
      { input: event(last, Number.POSITIVE_INFINITY), reason: "non_finite", text: "Infinity" },
      { input: event(last, Number.NEGATIVE_INFINITY), reason: "non_finite", text: "-Infinity" },
      { input: event(last, -1e101), reason: "out_of_range", text: "beyond" },
      { input: event(last, 1, ""), reason: "empty_field", text: "source is empty" },
      { input: event(last, 1, "host-a", ""), reason: "empty_field", text: "metric is empty" },
      { input: event(last - 60_001, 50), reason: "late", text: "allowedLatenessMs" },
    ];
    const clean = driver();
    await clean.pipeAll([...warm(), ...rest()]);
    const d = driver();
    await d.pipeAll(warm());
    await d.pipeAll(bad.map((b) => b.input));
    await d.pipeAll(rest());

    expect(d.dlq.map((l) => l.code)).toEqual(bad.map(() => "RECORD_INVALID"));
    for (const [i, letter] of d.dlq.entries()) {
      expect(letter.reason).toContain(bad[i]?.text);
      expect(letter.reason).toContain("snn-filter (telemetry.raw/0)");
      expect(letter.value).toEqual(bad[i]?.input.value);
    }
    for (const reason of ["non_finite", "out_of_range", "empty_field", "late"]) {
      const count = bad.filter((b) => b.reason === reason).length;
      expect(await metric(d.metrics, "spikemesh_snn_invalid_records_total", { reason })).toBe(count);
    }
    // A rejected record changes no state: the rest of the stream comes out as if it never came.
    const spikes = d.read("spikes");
    expect(spikes.length).toBeGreaterThan(0);
    expect(spikeBytes(spikes).equals(spikeBytes(clean.read("spikes")))).toBe(true);
  });

  it("applies a sample late by at most allowedLatenessMs at its key's newest time", async () => {
    const d = driver({ allowedLatenessMs: 60_000 });
    await d.pipeAll(warm());
    const newest = T0 + 59 * STEP_MS;
    await d.pipe(event(newest - 60_000, 50.5));
    await d.pipe(event(T0, 50, "host-b"));
    expect(d.dlq).toEqual([]);
    await d.pipe(event(newest - 60_000, 95));
    const [spike] = d.read("spikes");
    expect(spike?.value.timestamp).toBe(newest - 60_000);
  });

  it("ignores an exact repeat of a key's last sample and counts it", async () => {
    const inputs = [...warm(), ...rest()];
    const once = driver();
    await once.pipeAll(inputs);
    const twice = driver();
    for (const input of inputs) await twice.pipeAll([input, input]);
    expect(spikeBytes(twice.read("spikes")).equals(spikeBytes(once.read("spikes")))).toBe(true);
    expect(await metric(twice.metrics, "spikemesh_snn_duplicate_records_total")).toBe(inputs.length);

    // Same instant, another value: a second sample, not a duplicate.
    const d = driver();
    await d.pipeAll(warm());
    const newest = T0 + 59 * STEP_MS;
    await d.pipe(event(newest, 95));
    expect(d.read("spikes")).toHaveLength(1);
    expect(await metric(d.metrics, "spikemesh_snn_duplicate_records_total")).toBe(0);
  });
});
