import type { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { LogGenerator, type LogIncident } from "../../cli/demo/log-generator.js";
import {
  LOG_NEURON_ROLES,
  LogNetwork,
  ROUTER_RANK,
  type SnnFilterOutputs,
  type SnnLogFilterOptions,
  snnLogFilterOptions,
  snnLogFilterSpec,
  traceIdOf,
} from "../../processors/snn-filter/index.js";
import { type LogEvent, recordTypes, type SpikeRecord } from "../../schemas/index.js";
import { type PipeInput, ProcessorTestDriver, type Rec } from "../../streams/index.js";
import { encodeAvro } from "../../streams/topology/local-codec.js";

type LogDriver = ProcessorTestDriver<LogEvent, SnnFilterOutputs, SnnLogFilterOptions>;

const drivers: LogDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function driver(options: Record<string, unknown> = {}, partition = 0): LogDriver {
  const d = new ProcessorTestDriver(snnLogFilterSpec, options, { partition, topic: "logs.raw" });
  drivers.push(d);
  return d;
}

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;
const SOURCES = ["web-1", "web-2", "db-1"];
/**
 * The rarest usual kind of line is 1 in 31: 300 lines of warm-up show every kind to every source
 * (else its first appearance after warm-up is, rightly, a never-seen template).
 */
const OPTIONS = { warmupLines: 300 };

function generated(incident: Omit<LogIncident, "name" | "sources">, seed = 5) {
  const generator = new LogGenerator({
    startMs: T0,
    durationMs: 3 * HOUR,
    sources: SOURCES,
    linesPerSec: 2,
    incidents: [{ name: incident.kind, sources: ["db-1"], ...incident }],
    seed,
  });
  const lines = [...generator.lines()];
  const inputs: PipeInput<LogEvent>[] = lines.map(({ event }) => ({
    key: event.source,
    value: event,
    timestampMs: event.ts,
  }));
  return { lines, inputs };
}

function line(
  ts: number,
  message: string,
  source = "app-1",
  level: LogEvent["level"] = "INFO",
): PipeInput<LogEvent> {
  return { key: source, timestampMs: ts, value: { ts, source, level, message, fields: {} } };
}

const payloadOf = (s: Rec<SpikeRecord>) => JSON.parse(s.value.payload) as Record<string, unknown>;

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
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

describe("snn-log-filter: spikes on change", () => {
  it("spikes when a new error template appears, with the template and the line, and not before", async () => {
    const start = T0 + 2.5 * HOUR;
    const { lines, inputs } = generated({
      kind: "disk-error",
      startMs: start,
      endMs: start + 20 * MIN,
      ratePerSec: 0.2,
    });
    const first = lines.find((l) => l.label === "disk-error")!;
    expect(first.event.ts).toBeGreaterThanOrEqual(start);
    const d = driver(OPTIONS, 2);
    await d.pipeAll(inputs);
    const spikes = d.read("spikes");
    expect(spikes.filter((s) => s.timestampMs < start)).toEqual([]);
    const [spike] = spikes;
    expect(spike?.timestampMs).toBe(first.event.ts);
    expect(spike?.key).toBe("db-1");
    expect(spike?.value).toMatchObject({
      timestamp: first.event.ts,
      source: "db-1",
      type: "SENSOR_EVENT",
      source_rank: 2,
      target_rank: ROUTER_RANK,
      neuron: LOG_NEURON_ROLES.indexOf("template.new"),
    });
    expect(spike?.value.intensity).toBeGreaterThanOrEqual(1);
    const payload = payloadOf(spike!);
    expect(payload).toMatchObject({
      kind: "log",
      metric: "log.template.new",
      role: "template.new",
      level: "ERROR",
      example: first.event.message,
      isNew: true,
      z: null,
    });
    expect(payload.template).toMatch(/^Disk \S+ failed: I\/O error at sector <\*>$/);
    expect(spike?.value.traceId).toBe(traceIdOf(`db-1/log/${payload.templateId}`, first.event.ts));
    // The same template keeps coming at a steady rate: one piece of news, not a spike per line.
    expect(spikes.length).toBeLessThanOrEqual(3);
    expect(d.dlq).toEqual([]);
  });

  it("spikes template.rate when a known, rare template bursts", async () => {
    const start = T0 + 2.5 * HOUR;
    const { lines, inputs } = generated({
      kind: "slow-query",
      startMs: start,
      endMs: start + 10 * MIN,
      ratePerSec: 0.5,
    });
    const d = driver(OPTIONS);
    await d.pipeAll(inputs);
    const spikes = d.read("spikes");
    expect(spikes.filter((s) => s.timestampMs < start)).toEqual([]);
    const first = spikes[0]!;
    expect(first.key).toBe("db-1");
    expect(first.timestampMs).toBeLessThan(start + 2 * MIN);
    const payload = payloadOf(first);
    expect(payload).toMatchObject({ metric: "log.template.rate", isNew: false, level: "WARN" });
    expect(payload.template).toBe("Slow query on table <*> took <*> ms");
    expect(payload.z as number).toBeGreaterThanOrEqual(4);
    expect(lines.some((l) => l.event.message === payload.example && l.event.source === "db-1")).toBe(true);
    expect(spikes.length).toBeLessThanOrEqual(6);
  });

  it("spikes source.volume when a source floods", async () => {
    const start = T0 + 2.5 * HOUR;
    const { inputs } = generated({ kind: "http", startMs: start, endMs: start + 5 * MIN, ratePerSec: 10 });
    const d = driver(OPTIONS);
    await d.pipeAll(inputs);
    const spikes = d.read("spikes");
    expect(spikes.filter((s) => s.timestampMs < start)).toEqual([]);
    const roles = new Set(spikes.map((s) => payloadOf(s).role));
    expect(roles).toContain("source.volume");
    expect(roles).toContain("template.rate");
    expect(spikes.every((s) => s.key === "db-1" && s.timestampMs < start + 5 * MIN)).toBe(true);
  });

  it("stays silent during warm-up, however new every line is", async () => {
    const d = driver({ warmupLines: 50 });
    await d.pipeAll(
      Array.from({ length: 50 }, (_, i) => line(T0 + i * 1000, `line kind${i} says ${"x".repeat(i)}`)),
    );
    expect(d.read("spikes")).toEqual([]);
    await d.pipe(line(T0 + 50_000, "an entirely different line appears"));
    expect(d.read("spikes")).toHaveLength(1);
  });

  it("counts lines, templates and spikes in its metrics", async () => {
    const start = T0 + 2.5 * HOUR;
    const { inputs } = generated({
      kind: "disk-error",
      startMs: start,
      endMs: start + 20 * MIN,
      ratePerSec: 0.2,
    });
    const d = driver(OPTIONS);
    await d.pipeAll(inputs);
    const spikes = d.read("spikes").length;
    const labels = { processor: "snn-log-filter" };
    expect(await metric(d.metrics, "spikemesh_snn_events_total", labels)).toBe(inputs.length);
    expect(await metric(d.metrics, "spikemesh_snn_spikes_total", labels)).toBe(spikes);
    expect(await metric(d.metrics, "spikemesh_snn_keys", labels)).toBe(3);
    // 8 usual kinds + the error.
    expect(await metric(d.metrics, "spikemesh_snn_log_templates", labels)).toBe(9);
    expect(await metric(d.metrics, "spikemesh_snn_log_new_templates_total", labels)).toBe(9);
  });
});

describe("snn-log-filter: bad input goes to the DLQ", () => {
  it("dead-letters each bad line with its reason and changes nothing", async () => {
    const d = driver({ maxLineBytes: 64, maxSources: 2, allowedLatenessMs: 10_000, warmupLines: 0 });
    await d.pipe(line(T0, "service started on port 8080", "a"));
    await d.pipe(line(T0 + 60_000, "service started on port 8081", "b"));
    const bad: Array<[PipeInput<LogEvent>, RegExp, string]> = [
      [line(T0 + 61_000, "   ", "a"), /message of a is blank/, "RECORD_INVALID"],
      [line(T0 + 61_000, "hello", ""), /source is empty/, "RECORD_INVALID"],
      // 22 characters of 3 bytes: 66 bytes, over 64.
      [line(T0 + 61_000, "€".repeat(22), "a"), /66 bytes, over maxLineBytes \(64\)/, "RECORD_TOO_LARGE"],
      [line(T0 + 40_000, "service started on port 1", "b"), /20000 ms behind its newest/, "RECORD_INVALID"],
      [line(T0 + 61_000, "service started on port 2", "c"), /beyond maxSources \(2\)/, "RECORD_INVALID"],
      [
        {
          ...line(T0 + 61_000, "ok", "a"),
          value: { ...line(0, "ok").value, level: "LOUD" as LogEvent["level"] },
        },
        /LOUD|level/,
        "ENCODE_FAILED",
      ],
    ];
    for (const [input] of bad) await d.pipe(input);
    expect(d.dlq).toHaveLength(bad.length);
    bad.forEach(([input, reason], i) => {
      expect(d.dlq[i]?.value).toEqual(input.value);
      expect(d.dlq[i]?.reason).toMatch(reason);
    });
    expect(d.dlq.slice(0, 5).map((l) => l.code)).toEqual(bad.slice(0, 5).map(([, , code]) => code));
    const labels = { processor: "snn-log-filter" };
    expect(await metric(d.metrics, "spikemesh_snn_invalid_records_total", labels)).toBe(5);
    expect(
      await metric(d.metrics, "spikemesh_snn_invalid_records_total", { ...labels, reason: "too_long" }),
    ).toBe(1);
    expect(await metric(d.metrics, "spikemesh_snn_log_templates", labels)).toBe(1);
    expect(await metric(d.metrics, "spikemesh_snn_keys", labels)).toBe(2);
    // A late line within allowedLatenessMs is applied (at the source's newest time).
    await d.pipe(line(T0 + 55_000, "service started on port 3", "b"));
    expect(d.dlq).toHaveLength(bad.length);
    expect(await metric(d.metrics, "spikemesh_snn_log_templates", labels)).toBe(1);
  });
});

describe("snn-log-filter: state", () => {
  it("resumes after restart() exactly where an uninterrupted run would be", async () => {
    const start = T0 + 2.5 * HOUR;
    const { inputs } = generated(
      { kind: "db-refused", startMs: start, endMs: start + 10 * MIN, ratePerSec: 0.3 },
      9,
    );
    const straight = driver(OPTIONS);
    await straight.pipeAll(inputs);
    const expected = straight.read("spikes");
    expect(expected.length).toBeGreaterThan(0);
    const d = driver(OPTIONS);
    let restarts = 0;
    for (const [i, input] of inputs.entries()) {
      await d.pipe(input);
      if (i % 7_919 === 0 || input.value.message.startsWith("Connection to database")) {
        if (restarts < 12) {
          await d.restart();
          restarts++;
        }
      }
    }
    expect(restarts).toBe(12);
    const got = d.read("spikes");
    expect(spikeBytes(got).equals(spikeBytes(expected))).toBe(true);
  });

  it("LogNetwork: a source's JSON snapshot restores into another network that goes on identically", () => {
    const options = snnLogFilterOptions.parse({ warmupLines: 5 });
    const a = new LogNetwork(options);
    const feed = (n: LogNetwork, from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => {
        const i = from + k;
        return n.observe(
          "s",
          T0 + i * 500,
          i > 150 ? 1 + (i % 2) : 1 + (i % 3 === 0 ? 1 : 0) + (i === 90 ? 5 : 0),
        );
      });
    feed(a, 0, 100);
    const b = new LogNetwork(options);
    b.restore("s", JSON.parse(JSON.stringify(a.snapshot("s"))));
    expect(feed(b, 100, 400)).toEqual(feed(a, 100, 400));
    expect(b.snapshot("s")).toEqual(a.snapshot("s"));
  });

  it("LogNetwork: rejects a snapshot of another version or population size", () => {
    const n = new LogNetwork(snnLogFilterOptions.parse({}));
    n.observe("s", T0, 1);
    const state = n.snapshot("s")!;
    expect(() => n.restore("t", { ...state, version: 2 as 1 })).toThrow(/version/);
    expect(() => n.restore("t", { ...state, lif: { ...state.lif, potential: [0, 0] } })).toThrow(/neurons/);
  });
});
