/**
 * Hostile input through every processor of the mesh on the embedded runtime: 100k malformed and
 * hostile records (test/helpers/hostile-records.ts), each processor on inputs of its own so every
 * record is accounted for: it was either accepted by the processor or dead-lettered with a reason,
 * never both, never neither; the records that cannot be read are all dead-lettered; no processor
 * crashes; the heap does not grow with the number of records (measured and printed).
 */
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { meshTopology } from "../../cli/mesh-topology.js";
import { type AvroRecordSchema, recordTypes } from "../../schemas/index.js";
import { encodeWav } from "../../scripts/media/synthetic-media.js";
import { type Random, seededRandom } from "../../streams/clock.js";
import { EmbeddedTransport } from "../../streams/embedded/index.js";
import { silentLogger } from "../../streams/logger.js";
import {
  RegistryCodec,
  RegistrySerde,
  SchemaRegistryServer,
  valueSubject,
} from "../../streams/serde/index.js";
import { DLQ_HEADERS } from "../../streams/topology/dlq.js";
import { probeCommitted } from "../../streams/topology/drain.js";
import { encodeAvro } from "../../streams/topology/local-codec.js";
import type { AnyProcessorSpec } from "../../streams/topology/processor.js";
import { TopologyRunner } from "../../streams/topology/runner.js";
import { dlqTopic, type Topology, type TopologyNode } from "../../streams/topology/topology.js";
import type { IncomingRecord, OutgoingRecord } from "../../streams/transport/transport.js";
import {
  type HostileKind,
  HostileRecordSource,
  KIND_WEIGHTS,
  MUST_DLQ,
  withWrongFieldType,
} from "../helpers/hostile-records.js";
import { tempDir } from "./helpers/temp-dir.js";

const TOTAL_RECORDS = 100_000;
const PHASES = 4;
const SEED = 20261123;
const MAX_RECORD_BYTES = 1024 * 1024;
const DRAIN_MS = 240_000;
/**
 * Growth of the heap (after a full GC) over the second half of the records. Processor state fills
 * towards its bounds (keys, templates, prototypes) in the first half; retaining anything per record
 * (a few hundred bytes × 50k) would exceed this. Measured: about 12 MiB.
 */
const MAX_HEAP_GROWTH_BYTES = 24 * 1024 * 1024;
/** Longest label value on any metric: record text must never become a label. */
const MAX_LABEL_CHARS = 64;
/** Peak RSS over the run, above the RSS before the first record. */
const MAX_RSS_GROWTH_BYTES = 1024 * 1024 * 1024;
/** Outputs that get exactly one record per accepted input record. */
const ONE_PER_ACCEPTED: Record<string, string> = {
  "tier-rules": "results",
  "tier-phi2": "results",
  "tier-deepseek": "results",
  "control-sink": "feedback",
  "feedback-learner": "weights",
};
const REASON_CODES = new Set(["DECODE_FAILED", "RECORD_INVALID", "RECORD_TOO_LARGE", "ENCODE_FAILED"]);

/** Plausible values that get past a processor's first checks, by input record name. */
const PLAUSIBLE: Record<string, (value: Record<string, unknown>, random: Random) => void> = {
  MediaEvent(value, random) {
    const samples = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i / (2 + random.next() * 8)));
    Object.assign(value, {
      kind: "AUDIO",
      contentType: "audio/wav",
      data: encodeWav(samples, 8000),
      uri: null,
    });
  },
};

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

interface NodeUnderFuzz {
  node: TopologyNode;
  name: string;
  input: string;
  inputSchema: AvroRecordSchema;
  /** fuzz.seq of every record whose process() returned normally. */
  accepted: number[];
  kinds: HostileKind[];
  source: HostileRecordSource;
  produced: number;
}

/** The spec with process() reporting each record it accepted (by its fuzz.seq header). */
function counting(spec: AnyProcessorSpec, accepted: number[]): AnyProcessorSpec {
  return {
    ...spec,
    create(opts: unknown) {
      const inner = spec.create(opts);
      return {
        init: inner.init?.bind(inner),
        async process(rec, ctx) {
          await inner.process(rec, ctx);
          accepted.push(Number(rec.headers["fuzz.seq"]));
        },
        close: inner.close?.bind(inner),
      };
    },
  } as AnyProcessorSpec;
}

interface MemorySample {
  atMs: number;
  rss: number;
  heapUsed: number;
  external: number;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

describe("hostile input through every mesh processor (embedded runtime)", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let registry: SchemaRegistryServer;
  let serde: RegistrySerde;
  let codec: RegistryCodec;
  let transport: EmbeddedTransport;
  let runner: TopologyRunner | undefined;

  beforeAll(async () => {
    tmp = await tempDir("spikemesh-fuzz-");
    registry = new SchemaRegistryServer({ dataDir: join(tmp.dir, "registry") });
    serde = new RegistrySerde({ url: await registry.start() });
    codec = new RegistryCodec(serde, { maxRecordBytes: MAX_RECORD_BYTES });
    transport = new EmbeddedTransport({ dataDir: join(tmp.dir, "log"), logger: silentLogger() });
  });
  afterAll(async () => {
    await runner?.stop().catch(() => undefined);
    await transport?.close();
    await registry?.close();
    await tmp?.remove();
  });

  it("accounts for every record (accepted or dead-lettered with a reason), never crashes, heap bounded", async () => {
    const mesh = meshTopology({ appId: "fuzz", partitions: 2 });
    const random = seededRandom(SEED);
    const fuzzed: NodeUnderFuzz[] = [];
    for (const node of mesh.nodes) {
      const name = node.name ?? node.spec.name;
      const input = `fuzz.${name}.in`;
      const inputSchema = node.spec.input.schema;
      const accepted: number[] = [];
      const schemaId = await serde.register(valueSubject(input), node.spec.input);
      const other = inputSchema.name === "LogEvent" ? recordTypes.TelemetryEvent : recordTypes.LogEvent;
      const otherValue =
        other === recordTypes.LogEvent
          ? { ts: 1, source: "x", level: "ERROR", message: "other record type", fields: {} }
          : { ts: 1, source: "x", metric: "m", value: 1, tags: {} };
      const wrongFieldTypeId = await serde.register(
        `fuzz.${name}.wrong-value`,
        withWrongFieldType(inputSchema),
      );
      fuzzed.push({
        node: {
          ...node,
          name,
          spec: counting(node.spec, accepted),
          input,
          outputs: Object.fromEntries(Object.keys(node.outputs).map((o) => [o, `fuzz.${name}.out.${o}`])),
          tables: Object.fromEntries(
            Object.keys(node.tables ?? {}).map((t) => [t, `fuzz.${name}.table.${t}`]),
          ),
        },
        name,
        input,
        inputSchema,
        accepted,
        kinds: [],
        produced: 0,
        source: new HostileRecordSource(
          inputSchema,
          {
            schemaId,
            otherTypeId: await serde.register(valueSubject(`fuzz.${name}.other`), other),
            otherTypeBody: encodeAvro(other.schema, otherValue, "other"),
            wrongFieldTypeId,
            encodeBody: (value) => encodeAvro(inputSchema, value, `fuzz ${name}`),
            maxRecordBytes: MAX_RECORD_BYTES,
          },
          seededRandom(Math.floor(random.next() * 2 ** 32)),
          PLAUSIBLE[inputSchema.name],
        ),
      });
    }
    const topology: Topology = { ...mesh, topics: [], nodes: fuzzed.map((f) => f.node) };
    runner = new TopologyRunner(topology, {
      transport,
      codec,
      logger: silentLogger(),
      seed: SEED,
      retryBaseMs: 1,
      retryMaxMs: 4,
      lagIntervalMs: 0,
    });
    await runner.start();
    let crash: unknown;
    runner.crashed.catch((err: unknown) => {
      crash = err;
    });

    const samples: MemorySample[] = [];
    const started = performance.now();
    const sample = () => {
      const m = process.memoryUsage();
      samples.push({
        atMs: performance.now() - started,
        rss: m.rss,
        heapUsed: m.heapUsed,
        external: m.external,
      });
    };
    gc();
    sample();
    const sampler = setInterval(sample, 250);
    const afterPhase: MemorySample[] = [];
    const perNodePerPhase = TOTAL_RECORDS / fuzzed.length / PHASES;
    const producer = transport.producer();
    try {
      for (let phase = 0; phase < PHASES; phase++) {
        for (const f of fuzzed) {
          let batch: OutgoingRecord[] = [];
          for (let i = 0; i < perNodePerPhase; i++) {
            const rec = f.source.next(f.produced++);
            f.kinds.push(rec.kind);
            batch.push({ topic: f.input, ...rec });
            if (batch.length === 500) {
              await producer.send(batch);
              batch = [];
            }
          }
          if (batch.length > 0) await producer.send(batch);
        }
        const deadline = performance.now() + DRAIN_MS;
        for (;;) {
          if (crash) throw crash;
          const { pending } = await probeCommitted(transport, topology);
          if (pending === 0) break;
          if (performance.now() > deadline)
            throw new Error(`not drained after ${DRAIN_MS} ms: ${pending} pending`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        gc();
        sample();
        afterPhase.push(samples.at(-1)!);
      }
    } finally {
      clearInterval(sampler);
      await producer.close();
    }
    const elapsedS = (performance.now() - started) / 1000;
    await runner.stop();
    expect(crash).toBeUndefined();

    const kindsSeen = new Map<HostileKind, number>();
    for (const f of fuzzed) for (const k of f.kinds) kindsSeen.set(k, (kindsSeen.get(k) ?? 0) + 1);
    const rows: string[] = [];
    for (const f of fuzzed) {
      const dlq = await readTopic(transport, dlqTopic(f.input));
      const dlqSeqs = dlq.map((r) => Number(r.headers["fuzz.seq"]));
      for (const r of dlq) {
        expect(
          REASON_CODES.has(r.headers[DLQ_HEADERS.code] ?? ""),
          `code ${r.headers[DLQ_HEADERS.code]}`,
        ).toBe(true);
        expect(r.headers[DLQ_HEADERS.message]?.length ?? 0).toBeGreaterThan(10);
        expect(r.headers[DLQ_HEADERS.processor]).toBe(f.name);
        expect(r.headers[DLQ_HEADERS.topic]).toBe(f.input);
        expect(Number(r.headers[DLQ_HEADERS.offset])).toBeGreaterThanOrEqual(0);
      }
      // Every record accepted or dead-lettered, exactly once.
      const dead = new Set(dlqSeqs);
      const ok = new Set(f.accepted);
      expect(dead.size, `${f.name}: a record dead-lettered twice`).toBe(dlqSeqs.length);
      expect(ok.size, `${f.name}: a record accepted twice`).toBe(f.accepted.length);
      expect(
        [...ok].filter((s) => dead.has(s)),
        `${f.name}: accepted and dead-lettered`,
      ).toEqual([]);
      expect(ok.size + dead.size, `${f.name}: records in = accepted + dead-lettered`).toBe(f.produced);
      const mustDlq = f.kinds.flatMap((k, seq) => ((MUST_DLQ as readonly string[]).includes(k) ? [seq] : []));
      expect(
        mustDlq.filter((seq) => !dead.has(seq)),
        `${f.name}: unreadable records not dead-lettered`,
      ).toEqual([]);
      expect(
        ok.size,
        `${f.name}: nothing was accepted, the fuzz never reached the processor`,
      ).toBeGreaterThan(0);
      // The runner's own accounting agrees.
      expect(await metricFor(runner, "spikemesh_records_in_total", f.name)).toBe(f.produced);
      expect(await metricFor(runner, "spikemesh_dlq_records_total", f.name)).toBe(dead.size);
      const oneToOne = ONE_PER_ACCEPTED[f.name];
      let outputs = 0;
      for (const topic of Object.values(f.node.outputs))
        outputs += (await readTopic(transport, topic)).length;
      if (oneToOne) {
        const outs = await readTopic(transport, f.node.outputs[oneToOne]!);
        expect(outs.length, `${f.name}: one ${oneToOne} record per accepted record`).toBe(ok.size);
      }
      rows.push(
        `${f.name.padEnd(17)} in ${f.produced}  accepted ${ok.size}  dead-lettered ${dead.size}  outputs ${outputs}`,
      );
    }

    const base = samples[0]!;
    const peakRss = Math.max(...samples.map((s) => s.rss));
    const peakHeap = Math.max(...samples.map((s) => s.heapUsed));
    const half = afterPhase[PHASES / 2 - 1]!;
    const end = afterPhase[PHASES - 1]!;
    const heapGrowth = end.heapUsed - half.heapUsed;
    console.log(
      [
        `fuzz: ${TOTAL_RECORDS} records (seed ${SEED}) through ${fuzzed.length} processors in ${elapsedS.toFixed(1)} s`,
        `kinds: ${[...kindsSeen].map(([k, n]) => `${k} ${n}`).join(", ")}`,
        ...rows,
        `memory: rss before ${mib(base.rss)}, peak ${mib(peakRss)}; heap before ${mib(base.heapUsed)}, peak ${mib(peakHeap)}, after GC per quarter ${afterPhase.map((p) => mib(p.heapUsed)).join(" → ")} (second half ${mib(heapGrowth)}); external after GC ${afterPhase.map((p) => mib(p.external)).join(" → ")}`,
        `rss over time: ${samples
          .filter((_, i) => i % Math.max(1, Math.floor(samples.length / 12)) === 0)
          .map((s) => `${(s.atMs / 1000).toFixed(0)}s ${mib(s.rss)}`)
          .join(", ")}`,
      ].join("\n"),
    );
    const labelValues = (await runner.metrics.getMetricsAsJSON()).flatMap((m) =>
      m.values.flatMap((v) =>
        Object.entries(v.labels).map(([label, value]) => ({ metric: m.name, label, value: String(value) })),
      ),
    );
    const longLabels = labelValues.filter((l) => l.value.length > MAX_LABEL_CHARS);
    expect(longLabels.map((l) => `${l.metric}{${l.label}}: ${l.value.length} chars`)).toEqual([]);
    expect([...kindsSeen.keys()].sort()).toEqual(Object.keys(KIND_WEIGHTS).sort());
    expect(heapGrowth).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
    expect(peakRss - base.rss).toBeLessThan(MAX_RSS_GROWTH_BYTES);
  }, 420_000);
});

async function metricFor(runner: TopologyRunner, name: string, processor: string): Promise<number> {
  const metric = runner.metrics.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => v.labels.processor === processor).reduce((sum, v) => sum + v.value, 0);
}

/** Every record of `topic`. */
async function readTopic(transport: EmbeddedTransport, topic: string): Promise<IncomingRecord[]> {
  const [description] = await transport.admin().describeTopics([topic]);
  const total = (description?.partitions ?? []).reduce((n, p) => n + p.highOffset - p.lowOffset, 0);
  const consumer = transport.consumer({ groupId: `fuzz-read-${topic}`, autoOffsetReset: "earliest" });
  const out: IncomingRecord[] = [];
  try {
    await consumer.subscribe([topic]);
    const deadline = performance.now() + 30_000;
    while (out.length < total) {
      if (performance.now() > deadline) throw new Error(`read ${out.length} of ${total} records of ${topic}`);
      out.push(...(await consumer.poll({ maxRecords: 5000, maxWaitMs: 200 })));
    }
  } finally {
    await consumer.close();
  }
  return out;
}
