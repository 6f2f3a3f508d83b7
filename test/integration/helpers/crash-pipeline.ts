/**
 * The two-stage stateful pipeline the crash tests kill and restart (crash-replay.test.ts), shared
 * by the test and its child processes (pipeline-child.ts):
 *   input --tally--> mid --stamp--> out
 * `tally` counts records per source in a store and writes the count into `tags.n`; `stamp` keeps a
 * running sum of `value` per source in a store and writes it into `tags.s`. Every output record
 * therefore depends on all earlier records of its source: a lost, repeated or reordered record, or
 * a store restored to a state that does not match the committed offsets, changes the checksum.
 */
import { z } from "zod";
import { recordTypes, type TelemetryEvent } from "../../../schemas/index.js";
import { seededRandom } from "../../../streams/clock.js";
import type { ProcessorSpec } from "../../../streams/topology/processor.js";
import type { Topology } from "../../../streams/topology/topology.js";

export type Stage = "tally" | "stamp";
export const STAGES: readonly Stage[] = ["tally", "stamp"];

type StageOutputs = { out: TelemetryEvent };

/** Called once per processed record (progress lines in the child). */
export type OnRecord = () => void;

/** Per-source record count in store "counts", written to tags.n. */
export function tallySpec(
  onRecord: OnRecord = () => undefined,
): ProcessorSpec<TelemetryEvent, StageOutputs, object> {
  return {
    name: "tally",
    input: recordTypes.TelemetryEvent,
    outputs: { out: recordTypes.TelemetryEvent },
    stores: ["counts"],
    options: z.object({}),
    create: () => ({
      process(rec, ctx) {
        onRecord();
        const counts = ctx.store<number>("counts");
        const n = (counts.get(rec.value.source) ?? 0) + 1;
        counts.put(rec.value.source, n);
        const value = { ...rec.value, tags: { ...rec.value.tags, n: String(n) } };
        ctx.forward("out", { key: rec.key, value, timestampMs: rec.timestampMs, headers: {} });
      },
    }),
  };
}

/** Per-source running sum of `value` in store "sums", written to tags.s. */
export function stampSpec(
  onRecord: OnRecord = () => undefined,
): ProcessorSpec<TelemetryEvent, StageOutputs, object> {
  return {
    name: "stamp",
    input: recordTypes.TelemetryEvent,
    outputs: { out: recordTypes.TelemetryEvent },
    stores: ["sums"],
    options: z.object({}),
    create: () => ({
      process(rec, ctx) {
        onRecord();
        const sums = ctx.store<number>("sums");
        const s = (sums.get(rec.value.source) ?? 0) + rec.value.value;
        sums.put(rec.value.source, s);
        const value = { ...rec.value, tags: { ...rec.value.tags, s: String(s) } };
        ctx.forward("out", { key: rec.key, value, timestampMs: rec.timestampMs, headers: {} });
      },
    }),
  };
}

export interface PipelineTopics {
  input: string;
  mid: string;
  out: string;
}

/** The topology of the given stages (both by default) under `appId`, 4 partitions per topic. */
export function pipelineTopology(
  appId: string,
  topics: PipelineTopics,
  stages: readonly Stage[] = STAGES,
  onRecord: OnRecord = () => undefined,
): Topology {
  return {
    appId,
    defaultPartitions: PARTITIONS,
    nodes: stages.map((stage) =>
      stage === "tally"
        ? { spec: tallySpec(onRecord), input: topics.input, outputs: { out: topics.mid } }
        : { spec: stampSpec(onRecord), input: topics.mid, outputs: { out: topics.out } },
    ),
  };
}

export const PARTITIONS = 4;
export const SOURCES = Array.from({ length: 64 }, (_, i) => `host-${i}`);

/** Input record `seq`: source round-robin over SOURCES, `value` = seq. */
export function inputEvent(seq: number): TelemetryEvent {
  return {
    ts: 1_700_000_000_000 + seq,
    source: SOURCES[seq % SOURCES.length]!,
    metric: "cpu.util",
    value: seq,
    tags: {},
  };
}

/** FNV-1a, 32 bits. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Count and an order-independent checksum of output records (sum and xor of a hash of source,
 * value, n and s), and how many `value`s were seen twice or never (of `expected` 0..expected-1).
 */
export interface Tally {
  count: number;
  checksum: string;
  duplicates: number;
  missing: number;
}

export function tallyOutput(values: TelemetryEvent[], expected: number): Tally {
  let sum = 0;
  let xor = 0;
  let duplicates = 0;
  const seen = new Uint8Array(expected);
  for (const v of values) {
    const h = fnv1a(`${v.source}|${v.value}|${v.tags.n}|${v.tags.s}`);
    sum = (sum + h) % 2 ** 48;
    xor = (xor ^ h) >>> 0;
    if (v.value >= 0 && v.value < expected) {
      if (seen[v.value] === 1) duplicates++;
      seen[v.value] = 1;
    }
  }
  const present = seen.reduce((n, x) => n + x, 0);
  return {
    count: values.length,
    checksum: `${sum.toString(16)}-${xor.toString(16)}`,
    duplicates,
    missing: expected - present,
  };
}

/** What a correct run outputs for `n` input records, computed from the input alone. */
export function expectedOutput(n: number): TelemetryEvent[] {
  const counts = new Map<string, number>();
  const sums = new Map<string, number>();
  const out: TelemetryEvent[] = [];
  for (let seq = 0; seq < n; seq++) {
    const ev = inputEvent(seq);
    const c = (counts.get(ev.source) ?? 0) + 1;
    const s = (sums.get(ev.source) ?? 0) + ev.value;
    counts.set(ev.source, c);
    sums.set(ev.source, s);
    out.push({ ...ev, tags: { n: String(c), s: String(s) } });
  }
  return out;
}

/**
 * When to kill a process `kills` times: before each kill, the (restarted) process processes
 * `records` records (drawn uniformly in [0.2, 1] × 0.85 × total / kills, so all kills land before
 * the `total` records it has to process are done), then `delayMs` (0-300 ms) pass, so the kill hits
 * an arbitrary moment of a batch or transaction.
 */
export function killSchedule(
  seed: number,
  kills: number,
  total: number,
): { records: number; delayMs: number }[] {
  const random = seededRandom(seed);
  return Array.from({ length: kills }, () => ({
    records: Math.max(1000, Math.round(((0.2 + 0.8 * random.next()) * 0.85 * total) / kills)),
    delayMs: Math.floor(random.next() * 300),
  }));
}

/** Event count of the crash tests: SPIKEMESH_CRASH_EVENTS, default `fallback`. */
export function crashEvents(fallback: number): number {
  const raw = process.env.SPIKEMESH_CRASH_EVENTS;
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1000)
    throw new Error(`SPIKEMESH_CRASH_EVENTS must be an integer ≥ 1000, got "${raw}"`);
  return n;
}
