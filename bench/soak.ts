/**
 * Soak (issue #11 item 7; outside CI): the mesh topology (rules backends standing in for the model
 * tiers) runs for `minutes` against a steady live load of host telemetry, and every `sampleEveryMs`
 * a row reports throughput, consumer lag and memory:
 *   offered/s   events produced to telemetry.raw in the interval (the baseline: what was asked)
 *   filtered/s  events the snn-filter consumed;  ratio = filtered / offered
 *   spikes, escalations, results in the interval
 *   lag         the largest summed consumer lag of any group (spikemesh_consumer_lag_records)
 *   rss, heap   of this process (runner, producer and registry; the broker is a separate JVM)
 * At the end the producer stops, the time to drain (every group committed to the end) is measured,
 * and a summary fits the heap's trend after warm-up (MB per 10 min).
 * `npm run bench -- --only soak --minutes 30 [--rate 2000] [--runtime kafka|embedded]`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { loadConfig } from "../cli/config.js";
import { TelemetryGenerator } from "../cli/demo/telemetry-generator.js";
import { MESH_TOPICS, meshTopology } from "../cli/mesh-topology.js";
import { openRuntime, type Runtime } from "../cli/runtime.js";
import { recordTypes } from "../schemas/index.js";
import { silentLogger } from "../streams/logger.js";
import { groupId, TopologyRunner } from "../streams/topology/index.js";
import type { OutgoingRecord } from "../streams/transport/transport.js";
import { startBenchBroker } from "./kafka-broker.js";

export interface SoakOptions {
  minutes: number;
  /** Telemetry events per second offered (4 metrics per host, one sample per host-second). */
  ratePerSec: number;
  sampleEveryMs: number;
  runtime: "kafka" | "embedded";
  tmpRoot: string;
  /** Called with each row as it is taken. */
  onRow?: (row: SoakRow) => void;
}

export interface SoakRow {
  atSec: number;
  offeredPerSec: number;
  filteredPerSec: number;
  spikes: number;
  escalations: number;
  results: number;
  /** Largest summed lag of any consumer group, records. */
  maxGroupLag: number;
  rssMb: number;
  heapMb: number;
  loadAvg1: number;
}

export interface SoakResult {
  runtime: string;
  minutes: number;
  ratePerSec: number;
  rows: SoakRow[];
  produced: number;
  filtered: number;
  drainMs: number;
  /** Least-squares slope of heapUsed over the rows after the first fifth, MB per 10 minutes. */
  heapTrendMbPer10Min: number;
}

const TELEMETRY_METRICS = 4;

/** Sum of a metric's series whose labels contain every `match` string. */
async function total(registry: Registry, name: string, ...match: string[]): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => match.every((m) => Object.entries(v.labels).some(([k, x]) => `${k}=${x}` === m)))
    .reduce((n, v) => n + v.value, 0);
}

/** The largest summed lag of any group. */
async function maxGroupLag(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric("spikemesh_consumer_lag_records");
  if (metric === undefined) return 0;
  const byGroup = new Map<string, number>();
  for (const v of (await metric.get()).values) {
    const group = String(v.labels.group);
    byGroup.set(group, (byGroup.get(group) ?? 0) + v.value);
  }
  return Math.max(0, ...byGroup.values());
}

function slopePer10Min(points: { x: number; y: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  return sxx === 0 ? 0 : (sxy / sxx) * 600;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const dir = mkdtempSync(join(options.tmpRoot, "soak-"));
  const broker = options.runtime === "kafka" ? await startBenchBroker() : null;
  const log = silentLogger();
  const config = loadConfig({
    env: {},
    flags: { dataDir: dir, ...(broker ? { kafka: { brokers: broker.bootstrap } } : {}) },
  });
  let runtime: Runtime | null = null;
  try {
    runtime = await openRuntime(config, log);
    const metrics = new Registry();
    const durationMs = options.minutes * 60_000;
    const hosts = Math.max(3, Math.round(options.ratePerSec / TELEMETRY_METRICS));
    const topology = meshTopology({
      appId: "soak",
      partitions: 4,
      options: { router: { windowMs: 60_000, idleFlushMs: 1_000 } },
    });
    const runner = new TopologyRunner(topology, {
      transport: runtime.transport,
      codec: runtime.codec,
      logger: log,
      metrics,
      lagIntervalMs: 5_000,
    });
    await runner.start();
    let crash: unknown = null;
    runner.crashed.catch((err: unknown) => {
      crash = err;
    });
    // Live telemetry: one sample per host and metric per wall-clock second, incidents spread over the run.
    const started = Date.now();
    const generator = new TelemetryGenerator({
      startMs: Math.floor(started / 1000) * 1000,
      durationMs,
      stepMs: 1_000,
      hosts,
      seed: 11,
    });
    const producer = runtime.transport.producer({ idempotent: true });
    const codec = runtime.codec;
    let produced = 0;
    const rows: SoakRow[] = [];
    let last = { atMs: performance.now(), produced: 0, filtered: 0, spikes: 0, escalations: 0, results: 0 };
    const filteredNow = () =>
      total(metrics, "spikemesh_records_in_total", "processor=snn-filter", `topic=${MESH_TOPICS.telemetry}`);
    const outOf = (processor: string, topic: string) =>
      total(metrics, "spikemesh_records_out_total", `processor=${processor}`, `topic=${topic}`);
    const takeRow = async () => {
      const now = performance.now();
      const seconds = (now - last.atMs) / 1000;
      const filtered = await filteredNow();
      const spikes =
        (await outOf("snn-filter", MESH_TOPICS.spikes)) + (await outOf("snn-log-filter", MESH_TOPICS.spikes));
      const escalations =
        (await outOf("router", MESH_TOPICS.rules)) +
        (await outOf("router", MESH_TOPICS.phi2)) +
        (await outOf("router", MESH_TOPICS.deepseek));
      const results = await total(metrics, "spikemesh_records_out_total", `topic=${MESH_TOPICS.results}`);
      const memory = process.memoryUsage();
      const row: SoakRow = {
        atSec: Math.round((Date.now() - started) / 1000),
        offeredPerSec: Math.round((produced - last.produced) / seconds),
        filteredPerSec: Math.round((filtered - last.filtered) / seconds),
        spikes: spikes - last.spikes,
        escalations: escalations - last.escalations,
        results: results - last.results,
        maxGroupLag: await maxGroupLag(metrics),
        rssMb: Math.round(memory.rss / 2 ** 20),
        heapMb: Math.round(memory.heapUsed / 2 ** 20),
        loadAvg1: Math.round(os.loadavg()[0]! * 100) / 100,
      };
      last = { atMs: now, produced, filtered, spikes, escalations, results };
      rows.push(row);
      options.onRow?.(row);
    };
    let nextRowMs = performance.now() + options.sampleEveryMs;
    for (let t = generator.startMs; t < generator.endMs; t += generator.stepMs) {
      if (crash !== null) throw crash;
      const records: OutgoingRecord[] = [];
      for (const e of generator.samplesAt(t)) {
        records.push({
          topic: MESH_TOPICS.telemetry,
          key: Buffer.from(e.source),
          value: await codec.encode(MESH_TOPICS.telemetry, recordTypes.TelemetryEvent, e),
          timestampMs: e.ts,
        });
      }
      await producer.send(records);
      produced += records.length;
      if (performance.now() >= nextRowMs) {
        await takeRow();
        nextRowMs += options.sampleEveryMs;
      }
      // Live pace: the sample of second t goes out at wall time t (a slow send catches up).
      const waitMs = t + generator.stepMs - Date.now();
      if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    }
    await producer.close();
    // Drain: every group committed to the end of its input.
    const drainStarted = performance.now();
    const admin = runtime.transport.admin();
    for (;;) {
      if (crash !== null) throw crash;
      let isDrained = (await filteredNow()) >= produced;
      for (const node of topology.nodes) {
        if (!isDrained) break;
        const [described] = await admin.describeTopics([node.input]);
        const committed = await admin.fetchCommittedOffsets(groupId(topology.appId, node), node.input);
        for (const p of described?.partitions ?? []) {
          const c = committed.find((o) => o.partition === p.partition)?.offset ?? p.lowOffset;
          // Kafka's end offset includes transaction markers; at-least-once writes none.
          if (c < p.highOffset) isDrained = false;
        }
      }
      if (isDrained) break;
      if (performance.now() - drainStarted > 600_000) throw new Error("soak: not drained within 10 minutes");
      await new Promise((r) => setTimeout(r, 500));
    }
    const drainMs = Math.round(performance.now() - drainStarted);
    await takeRow();
    await runner.stop();
    const warm = rows.slice(Math.floor(rows.length / 5), -1);
    return {
      runtime: broker
        ? `kafka (${config.kafka?.client ?? "default"} client, broker ${broker.version})`
        : "embedded",
      minutes: options.minutes,
      ratePerSec: options.ratePerSec,
      rows,
      produced,
      filtered: await filteredNow(),
      drainMs,
      heapTrendMbPer10Min:
        Math.round(slopePer10Min(warm.map((r) => ({ x: r.atSec, y: r.heapMb }))) * 10) / 10,
    };
  } finally {
    await runtime?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rows as a Markdown table, then the summary lines. */
export function formatSoak(result: SoakResult): string {
  const head =
    "| t (s) | offered/s | filtered/s | ratio | spikes | escalations | results | max group lag | RSS MB | heap MB | load 1m |";
  const rule = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";
  const lines = result.rows.map(
    (r) =>
      `| ${r.atSec} | ${r.offeredPerSec} | ${r.filteredPerSec} | ${r.offeredPerSec > 0 ? (r.filteredPerSec / r.offeredPerSec).toFixed(2) : "-"} | ` +
      `${r.spikes} | ${r.escalations} | ${r.results} | ${r.maxGroupLag} | ${r.rssMb} | ${r.heapMb} | ${r.loadAvg1} |`,
  );
  const rss = result.rows.map((r) => r.rssMb);
  const lags = result.rows.map((r) => r.maxGroupLag);
  const summary = [
    `soak: ${result.runtime}, ${result.minutes} min at ${result.ratePerSec} events/s offered`,
    `produced ${result.produced}, filtered ${result.filtered} (${(result.filtered / Math.max(1, result.produced)).toFixed(4)} of produced); drained ${result.drainMs} ms after the producer stopped`,
    `max group lag ${Math.max(...lags)} records; RSS first ${rss[0]} MB, last ${rss.at(-1)} MB, max ${Math.max(...rss)} MB; heap trend after warm-up ${result.heapTrendMbPer10Min} MB per 10 min`,
  ];
  return [head, rule, ...lines, "", ...summary].join("\n");
}
