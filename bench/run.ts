/**
 * `npm run bench [-- --quick] [-- --json out.json]`: measures spikemesh against plain baselines,
 * side by side in one process, and prints a table of records/s, MB/s and ratios.
 *   - embedded log produce and consume vs fs.writeSync / readSync of the same bytes
 *   - the same with fsync on both sides
 *   - Avro encode and decode through the registry framing vs plain avsc
 *   - on a local Kafka broker the bench starts (scripts/kafka.sh; skipped without Java), per client
 *     (kafkajs, @platformatic/kafka): the SNN-filter pipeline vs a raw consume → produce
 *     passthrough on the client's own API, plus event → spike latency under a paced load
 *   - the media encoder path (PNG, JPEG, WAV → tiny ONNX extractors, novelty, audio features) vs
 *     decoding the same bytes alone (bench/media.ts)
 *   - the mesh demo pipeline with metrics on vs off (bench/metrics-overhead.ts; goal: under 5% cost)
 *   - log template mining (Drain-style miner) vs a whitespace split + digit regex (bench/log-templates.ts)
 *   - only with --only soak (long, outside CI): the mesh under a steady live load for --minutes,
 *     throughput, lag and memory over time (bench/soak.ts; --rate events/s, --runtime kafka|embedded)
 * Options: --quick (short run), --json PATH, --reps N, --only log|serde|kafka|snn|replay|templates|media|metrics|soak,
 * --minutes N, --rate N, --runtime kafka|embedded, --help.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { KAFKA_CLIENTS } from "../streams/kafka/index.js";
import { embeddedLogSuite, type LogBenchOptions } from "./embedded-log.js";
import { type KafkaBench, kafkaCaseName, type LatencyRow, startKafkaBench } from "./kafka.js";
import { kafkaUnavailableReason } from "./kafka-broker.js";
import {
  LOG_TEMPLATES_CASE,
  logTemplatesAccuracy,
  logTemplatesSuite,
  logTemplatesWorkload,
} from "./log-templates.js";
import { type CaseResult, runSuite, type Suite } from "./measure.js";
import { MEDIA_CASES, mediaSuite } from "./media.js";
import { GOAL_METRICS_OVERHEAD, METRICS_CASE, metricsOverheadSuite } from "./metrics-overhead.js";
import { REPLAY_CASE, replaySuite } from "./replay.js";
import {
  describeMachine,
  formatLatencyTable,
  formatLegend,
  formatTable,
  machineLine,
  writeJson,
} from "./report.js";
import { serdeSuites } from "./serde.js";
import { snnSuites } from "./snn.js";
import { formatSoak, runSoak } from "./soak.js";

const USAGE = `usage: node dist/bench/run.js [--quick] [--json PATH] [--reps N] [--only log|serde|kafka|snn|replay|templates|media|metrics|soak] [--minutes N] [--rate N] [--runtime kafka|embedded]`;
const ONLY = ["log", "serde", "kafka", "snn", "replay", "templates", "media", "metrics", "soak"] as const;
/** Issue #3's aim for the embedded log, per core. */
const GOAL_RECORDS_PER_SEC = 500_000;
/** Issue #5's aim for the SNN kernel, events/s on one core. */
const GOAL_SNN_EVENTS_PER_SEC = 1_000_000;
/** Issue #4's aim: the pipeline at least this share of the raw passthrough of the client it runs on. */
const GOAL_KAFKA_RATIO = 0.9;
type Only = (typeof ONLY)[number];

interface Settings {
  quick: boolean;
  warmup: number;
  reps: number;
  logRecords: number;
  fsyncRecords: number;
  serdeRecords: number;
  batchSize: number;
  keyBytes: number;
  valueBytes: number;
  kafkaRecords: number;
  kafkaPartitions: number;
  latencyRatePerSec: number;
  latencyRecords: number;
  replayRecords: number;
  templateLines: number;
  only: Only | undefined;
  /** Soak only: run length, offered events/s and runtime. */
  soakMinutes: number;
  soakRate: number;
  soakRuntime: "kafka" | "embedded";
}

function settingsFrom(argv: string[]): Settings & { json: string | undefined } {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "string" },
      reps: { type: "string" },
      only: { type: "string" },
      minutes: { type: "string" },
      rate: { type: "string" },
      runtime: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const reps = values.reps === undefined ? (quick ? 3 : 5) : Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer\n${USAGE}`);
  const only = values.only;
  if (only !== undefined && !(ONLY as readonly string[]).includes(only)) {
    throw new Error(`--only ${ONLY.join("|")}\n${USAGE}`);
  }
  const soakMinutes = values.minutes === undefined ? (quick ? 2 : 30) : Number(values.minutes);
  const soakRate = values.rate === undefined ? 2000 : Number(values.rate);
  if (!(soakMinutes > 0) || !(soakRate > 0))
    throw new Error(`--minutes and --rate must be positive\n${USAGE}`);
  const soakRuntime = values.runtime ?? (kafkaUnavailableReason() === null ? "kafka" : "embedded");
  if (soakRuntime !== "kafka" && soakRuntime !== "embedded")
    throw new Error(`--runtime kafka|embedded\n${USAGE}`);
  return {
    quick,
    warmup: 1,
    reps,
    logRecords: quick ? 200_000 : 1_000_000,
    fsyncRecords: quick ? 50_000 : 200_000,
    serdeRecords: quick ? 50_000 : 200_000,
    batchSize: 500,
    keyBytes: 16,
    valueBytes: 100,
    kafkaRecords: quick ? 30_000 : 100_000,
    kafkaPartitions: 4,
    latencyRatePerSec: 2000,
    latencyRecords: quick ? 6000 : 12_000,
    replayRecords: quick ? 200_000 : 1_000_000,
    templateLines: quick ? 100_000 : 400_000,
    only: only as Only | undefined,
    soakMinutes,
    soakRate,
    soakRuntime,
    json: values.json,
  };
}

/** `--only soak`: one long run, rows printed as they come (stderr) and as a table at the end. */
async function soakMain(settings: Settings, json: string | undefined): Promise<void> {
  const tmpRoot = mkdtempSync(join(os.tmpdir(), "spikemesh-bench-"));
  const date = new Date().toISOString();
  const loadBefore = os.loadavg()[0]!;
  process.stderr.write(
    `soak: ${settings.soakMinutes} min at ${settings.soakRate} events/s on ${settings.soakRuntime}\n`,
  );
  try {
    const result = await runSoak({
      minutes: settings.soakMinutes,
      ratePerSec: settings.soakRate,
      sampleEveryMs: Math.max(5_000, Math.round((settings.soakMinutes * 60_000) / 30)),
      runtime: settings.soakRuntime,
      tmpRoot,
      onRow: (row) => process.stderr.write(`  ${JSON.stringify(row)}\n`),
    });
    console.log(`spikemesh bench (soak), ${date}`);
    console.log(`machine: ${machineLine(describeMachine())}`);
    console.log(
      `load average (1 min): ${loadBefore.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end (per row in the table)`,
    );
    console.log("");
    console.log(formatSoak(result));
    if (json !== undefined) {
      writeFileSync(
        json,
        `${JSON.stringify({ date, machine: describeMachine(), settings: { ...settings }, soak: result }, null, 2)}\n`,
      );
      console.log(`\nwrote ${json}`);
    }
  } finally {
    rmSync(tmpRoot, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { json, ...settings } = settingsFrom(process.argv.slice(2));
  if (settings.only === "soak") return soakMain(settings, json);
  const tmpRoot = mkdtempSync(join(os.tmpdir(), "spikemesh-bench-"));
  const cleanup = (): void => rmSync(tmpRoot, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanup();
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const machine = describeMachine();
  const date = new Date().toISOString();
  const loadBefore = os.loadavg()[0]!;
  const results: CaseResult[] = [];
  let latency: LatencyRow[] = [];
  let kafkaNote: string | undefined;
  let templatesAccuracy: { miner: number; regex: number } | undefined;
  try {
    const log = (records: number, fsync: boolean): LogBenchOptions => ({
      tmpRoot,
      records,
      fsync,
      batchSize: settings.batchSize,
      keyBytes: settings.keyBytes,
      valueBytes: settings.valueBytes,
    });
    const suites: { name: string; make: () => Promise<Suite[]> }[] = [];
    if (settings.only === undefined || settings.only === "log") {
      suites.push({
        name: "embedded log",
        make: async () => [embeddedLogSuite(log(settings.logRecords, false))],
      });
      suites.push({
        name: "embedded log, fsync",
        make: async () => [embeddedLogSuite(log(settings.fsyncRecords, true))],
      });
    }
    if (settings.only === undefined || settings.only === "serde") {
      suites.push({
        name: "avro serde",
        make: () => serdeSuites({ tmpRoot, records: settings.serdeRecords }),
      });
    }
    if (settings.only === undefined || settings.only === "replay") {
      suites.push({
        name: "replay",
        make: async () => [replaySuite(tmpRoot, settings.replayRecords)],
      });
    }
    if (settings.only === undefined || settings.only === "snn") {
      suites.push({
        name: "snn filter",
        make: () =>
          snnSuites({
            tmpRoot,
            kernelEvents: settings.quick ? 500_000 : 2_000_000,
            keys: 1_000,
            pipelineRecords: settings.quick ? 50_000 : 200_000,
          }),
      });
    }
    if (settings.only === undefined || settings.only === "media") {
      suites.push({
        name: "media encoder",
        make: async () => [
          await mediaSuite({
            tmpRoot,
            images: settings.quick ? 60 : 200,
            clips: settings.quick ? 20 : 60,
          }),
        ],
      });
    }
    if (settings.only === undefined || settings.only === "metrics") {
      suites.push({
        name: "metrics overhead",
        make: async () => [metricsOverheadSuite({ tmpRoot, hours: settings.quick ? 6 : 24 })],
      });
    }
    if (settings.only === undefined || settings.only === "templates") {
      suites.push({
        name: "log templates",
        make: async () => {
          const workload = logTemplatesWorkload(settings.templateLines);
          templatesAccuracy = logTemplatesAccuracy(workload);
          return [logTemplatesSuite(workload)];
        },
      });
    }
    const run = async (name: string, suite: Suite): Promise<void> => {
      const total = settings.warmup + settings.reps;
      const progress = (rep: number, warm: boolean): void => {
        process.stderr.write(`  ${suite.cases.join(", ")}: ${rep + 1}/${total}${warm ? " (warm-up)" : ""}\n`);
      };
      process.stderr.write(`${name}\n`);
      results.push(
        ...(await runSuite(suite, { warmup: settings.warmup, reps: settings.reps, onRep: progress })),
      );
    };
    for (const { name, make } of suites) {
      const made = await make();
      try {
        for (const suite of made) await run(name, suite);
      } finally {
        for (const suite of made) await suite.close?.();
      }
    }
    if (settings.only === undefined || settings.only === "kafka") {
      const reason = kafkaUnavailableReason();
      if (reason !== null) {
        kafkaNote = `Kafka cases skipped: ${reason}`;
        process.stderr.write(`${kafkaNote}\n`);
      } else {
        process.stderr.write("kafka: starting a local broker (scripts/kafka.sh)\n");
        const kafka: KafkaBench = await startKafkaBench({
          tmpRoot,
          clients: KAFKA_CLIENTS,
          records: settings.kafkaRecords,
          partitions: settings.kafkaPartitions,
          batchSize: settings.batchSize,
          guarantee: "at_least_once",
          latencyRatePerSec: settings.latencyRatePerSec,
          latencyRecords: settings.latencyRecords,
        });
        try {
          kafkaNote = `Kafka ${kafka.broker.version} on ${kafka.broker.bootstrap}, started by the bench`;
          for (const suite of kafka.suites) await run(`kafka (${suite.cases.join(", ")})`, suite);
          latency = await kafka.latency();
        } finally {
          await kafka.close();
        }
      }
    }
  } finally {
    cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  console.log(`spikemesh bench, ${date}`);
  const loadAfter = os.loadavg()[0]!;
  console.log(`machine: ${machineLine(machine)}`);
  console.log(
    `load average (1 min): ${loadBefore.toFixed(2)} at start, ${loadAfter.toFixed(2)} at end (other work on the machine skews both sides)`,
  );
  console.log(
    `settings: ${settings.quick ? "quick" : "full"}; ${settings.warmup} warm-up + ${settings.reps} reps (medians); ` +
      `log ${settings.logRecords.toLocaleString("en-US")} records (fsync ${settings.fsyncRecords.toLocaleString("en-US")}) ` +
      `of ${settings.keyBytes}-byte keys + ${settings.valueBytes}-byte values, ${settings.batchSize}/batch, 1 partition; ` +
      `serde ${settings.serdeRecords.toLocaleString("en-US")} TelemetryEvents; ` +
      `kafka ${settings.kafkaRecords.toLocaleString("en-US")} TelemetryEvents, ${settings.kafkaPartitions} partitions, ` +
      `latency at ${settings.latencyRatePerSec.toLocaleString("en-US")} records/s for ${settings.latencyRecords.toLocaleString("en-US")} records; ` +
      `log templates ${settings.templateLines.toLocaleString("en-US")} lines`,
  );
  if (kafkaNote !== undefined) console.log(kafkaNote);
  console.log("");
  console.log(formatTable(results));
  console.log("");
  console.log(formatLegend(results));
  const produce = results.find((r) => r.name === "log produce");
  const consume = results.find((r) => r.name === "log consume");
  if (produce !== undefined && consume !== undefined) {
    const worst = Math.min(produce.spikemesh.recordsPerSec, consume.spikemesh.recordsPerSec);
    console.log("");
    console.log(
      `goal ≥ ${GOAL_RECORDS_PER_SEC.toLocaleString("en-US")} records/s produce and consume on one core: ` +
        `${worst >= GOAL_RECORDS_PER_SEC ? "met" : "NOT met"} (slower of the two: ${Math.round(worst).toLocaleString("en-US")} records/s)`,
    );
  }
  for (const client of KAFKA_CLIENTS) {
    const r = results.find((x) => x.name === kafkaCaseName(client));
    if (r === undefined) continue;
    console.log(
      `goal ≥ ${GOAL_KAFKA_RATIO}× the raw passthrough of ${client}: ${r.ratio >= GOAL_KAFKA_RATIO ? "met" : "NOT met"} ` +
        `(${r.ratio.toFixed(2)}× median, ${r.bestRatio.toFixed(2)}× best)`,
    );
  }
  if (latency.length > 0) {
    console.log("");
    console.log(formatLatencyTable(latency));
  }
  const replay = results.find((r) => r.name === REPLAY_CASE);
  if (replay !== undefined) {
    const rate = replay.spikemesh.recordsPerSec;
    console.log(
      `goal ≥ ${GOAL_RECORDS_PER_SEC.toLocaleString("en-US")} records/s replaying at max speed into the embedded runtime: ` +
        `${rate >= GOAL_RECORDS_PER_SEC ? "met" : "NOT met"} (${Math.round(rate).toLocaleString("en-US")} records/s, ` +
        `${replay.ratio.toFixed(2)}× reading and decoding the file alone)`,
    );
  }
  // Per core: events per CPU-second of this process, which other load on the machine does not dilute.
  const kernel = results.find((r) => r.name === "snn kernel (CPU time)");
  if (kernel !== undefined) {
    const rate = kernel.spikemesh.recordsPerSec;
    console.log(
      `goal ≥ ${GOAL_SNN_EVENTS_PER_SEC.toLocaleString("en-US")} events/s through the SNN kernel on one core: ` +
        `${rate >= GOAL_SNN_EVENTS_PER_SEC ? "met" : "NOT met"} (${Math.round(rate).toLocaleString("en-US")} events ` +
        `per CPU-second, ${kernel.ratio.toFixed(2)}× the rolling z-score loop)`,
    );
  }
  const wav = results.find((r) => r.name === MEDIA_CASES.wav);
  if (wav !== undefined) {
    const png = results.find((r) => r.name === MEDIA_CASES.png)!;
    const jpeg = results.find((r) => r.name === MEDIA_CASES.jpeg)!;
    console.log(
      `media encoder on the CPU: ${Math.round(png.spikemesh.recordsPerSec)} PNG and ${Math.round(jpeg.spikemesh.recordsPerSec)} JPEG images/s ` +
        `(${png.ratio.toFixed(2)}× and ${jpeg.ratio.toFixed(2)}× decoding alone), ` +
        `${Math.round(wav.spikemesh.recordsPerSec)} audio-seconds/s (${wav.ratio.toFixed(2)}× decoding alone)`,
    );
  }
  const metricsOverhead = results.find((r) => r.name === METRICS_CASE);
  if (metricsOverhead !== undefined) {
    const overhead = 1 - metricsOverhead.ratio;
    console.log(
      `goal < ${100 * GOAL_METRICS_OVERHEAD}% pipeline throughput lost to metrics: ${overhead < GOAL_METRICS_OVERHEAD ? "met" : "NOT met"} ` +
        `(on/off ${metricsOverhead.ratio.toFixed(3)} median, ${metricsOverhead.bestRatio.toFixed(3)} best: ` +
        `${(100 * overhead).toFixed(1)}% overhead)`,
    );
  }
  const templates = results.find((r) => r.name === LOG_TEMPLATES_CASE);
  if (templates !== undefined && templatesAccuracy !== undefined) {
    console.log(
      `log templates: ${Math.round(templates.spikemesh.recordsPerSec).toLocaleString("en-US")} lines/s through the miner, ` +
        `${templates.ratio.toFixed(2)}× the regex split (${templates.bestRatio.toFixed(2)}× best); grouping accuracy ` +
        `against the generator's labels: miner ${templatesAccuracy.miner.toFixed(3)}, regex split ${templatesAccuracy.regex.toFixed(3)}`,
    );
  }
  if (json !== undefined) {
    writeJson(json, {
      date,
      machine,
      loadAverage: { start: loadBefore, end: loadAfter },
      settings: { ...settings },
      results,
      latency,
    });
    console.log(`\nwrote ${json}`);
  }
}

await main();
