import { type LabelledWindow, windowsOf } from "../processors/control-sink/index.js";
import { NOT_RECORDED } from "../processors/escalation-tier/index.js";
import type { ReasoningRequest, ReasoningResult, SpikeRecord } from "../schemas/index.js";

export type { LabelledWindow } from "../processors/control-sink/index.js";

import { type OutputRecord, RecordingReader, runRecording } from "../streams/replay/index.js";
import type { SpikemeshConfig } from "./config.js";
import { routerWindowsClosed } from "./demo/drain.js";
import { MESH_TOPICS, meshTopology } from "./mesh-topology.js";

export interface WhatIfPrices {
  /** Price per 1000 tokens, by tier. Default 0 everywhere. */
  [tier: string]: number;
}

export interface WhatIfRun {
  label: string;
  events: number;
  spikes: number;
  escalations: Record<string, number>;
  /** Estimated model tokens: ceil(request context chars / 4) in + the result's tokens (or 64) out. */
  estimatedTokens: Record<string, number>;
  estimatedCost: number;
  latencyMs: { p50: number; p95: number };
  verdicts: Record<string, number>;
  /** With recorded answers: model-tier requests answered from the recording, and those it lacked. */
  recordedAnswers?: { recorded: number; missing: number };
  windows?: { caught: string[]; missed: string[] };
}

const TIERS = ["rules", "phi2", "deepseek"] as const;
const MODEL_TIERS = ["phi2", "deepseek"] as const;
/** Topics of a recording that whatif replays: what the mesh reads from outside. */
const INPUT_TOPICS = ["telemetry.raw", "logs.raw", "media.raw"] as const;

/**
 * What answers the model tiers: the backends the configurations name, the rules heuristic, or the
 * results of an earlier run kept in a recording (matched by request id, else by case: same source
 * and first spike; the rules heuristic answers what the recording lacks).
 */
export type WhatIfAnswers = { kind: "config" } | { kind: "rules" } | { kind: "recorded"; file: string };
const OUTPUT_TOKENS_GUESS = 64;

/**
 * Runs the mesh with one configuration over a recording at full speed on a fresh embedded runtime
 * and measures what came out of it.
 */
export async function whatIfRun(
  file: string,
  label: string,
  config: SpikemeshConfig,
  options: {
    labels?: LabelledWindow[];
    prices?: WhatIfPrices;
    answers?: WhatIfAnswers;
    /** Share of the recording replayed so far (0 to 1); processing follows until everything settles. */
    onReplayProgress?: (fraction: number) => void;
  },
): Promise<WhatIfRun> {
  // At full speed records never pause long, so the router's idle flush only matters for the last
  // windows of the recording: flush those quickly unless the configuration says otherwise.
  const nodes: Record<string, Record<string, unknown>> = {
    ...config.nodes,
    router: { idleFlushMs: 300, ...config.nodes.router },
  };
  const answers = options.answers ?? { kind: "config" };
  if (answers.kind !== "config") {
    const backend =
      answers.kind === "rules"
        ? { kind: "rules" }
        : { kind: "recorded", file: answers.file, match: "case", missing: "rules" };
    for (const tier of MODEL_TIERS) {
      const name = `tier-${tier}`;
      nodes[name] = { ...nodes[name], backend: { model: `${answers.kind} (${tier})`, ...backend } };
    }
  }
  const topology = meshTopology({
    appId: `whatif-${label}`,
    partitions: config.runner.partitions,
    options: nodes,
  });
  // Only the mesh's inputs are replayed: a recording may also hold an earlier run's requests and
  // results (the recorded answers), which must not reach the tiers as new work.
  const out = await runRecording(file, topology, {
    settled: routerWindowsClosed,
    seed: config.runner.seed,
    replay: { topics: [...INPUT_TOPICS] },
    ...(options.onReplayProgress ? { onReplayProgress: options.onReplayProgress } : {}),
  });
  const decoded = <T>(topic: string) => (out.get(topic) ?? []).map((r: OutputRecord) => r.decoded as T);
  const spikes = decoded<SpikeRecord>(MESH_TOPICS.spikes);
  const results = decoded<ReasoningResult>(MESH_TOPICS.results);
  const escalations: Record<string, number> = {};
  const estimatedTokens: Record<string, number> = {};
  const requests: ReasoningRequest[] = [];
  let cost = 0;
  for (const tier of TIERS) {
    const reqs = decoded<ReasoningRequest>(MESH_TOPICS[tier]);
    requests.push(...reqs);
    escalations[tier] = reqs.length;
    if (tier === "rules") continue;
    const answered = new Map(results.filter((r) => r.tier === tier).map((r) => [r.id, r.tokens]));
    const tokens = reqs.reduce(
      (n, r) => n + Math.ceil(r.context.length / 4) + (answered.get(r.id) || OUTPUT_TOKENS_GUESS),
      0,
    );
    estimatedTokens[tier] = tokens;
    cost += (tokens / 1000) * (options.prices?.[tier] ?? 0);
  }
  const latencies = results.map((r) => r.latencyMs).sort((a, b) => a - b);
  const verdicts: Record<string, number> = {};
  for (const r of results) verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
  const modelResults = results.filter((r) => (MODEL_TIERS as readonly string[]).includes(r.tier));
  const missing = modelResults.filter((r) => r.summary.startsWith(NOT_RECORDED)).length;
  return {
    label,
    events: countTopic(file, MESH_TOPICS.telemetry),
    spikes: spikes.length,
    escalations,
    estimatedTokens,
    estimatedCost: cost,
    latencyMs: { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95) },
    verdicts,
    ...(answers.kind === "recorded"
      ? { recordedAnswers: { recorded: modelResults.length - missing, missing } }
      : {}),
    ...(options.labels ? { windows: windowsCaught(options.labels, requests) } : {}),
  };
}

function countTopic(file: string, topic: string): number {
  let n = 0;
  for (const rec of new RecordingReader(file).records()) if (rec.topic === topic) n++;
  return n;
}

/** A window is caught when some request carries a spike of its sources (and metric) inside it. */
export function windowsCaught(
  labels: LabelledWindow[],
  requests: ReasoningRequest[],
): { caught: string[]; missed: string[] } {
  const hit = new Set(requests.flatMap((r) => windowsOf(r, labels)));
  return {
    caught: labels.filter((w) => hit.has(w)).map((w) => w.name),
    missed: labels.filter((w) => !hit.has(w)).map((w) => w.name),
  };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The side-by-side table `spikemesh whatif` prints. */
export function formatWhatIf(a: WhatIfRun, b: WhatIfRun): string {
  const rows: [string, string, string][] = [
    ["spikes", String(a.spikes), String(b.spikes)],
    ...TIERS.map((t): [string, string, string] => [
      `escalations ${t}`,
      String(a.escalations[t] ?? 0),
      String(b.escalations[t] ?? 0),
    ]),
    ...(["phi2", "deepseek"] as const).map((t): [string, string, string] => [
      `est. tokens ${t}`,
      String(a.estimatedTokens[t] ?? 0),
      String(b.estimatedTokens[t] ?? 0),
    ]),
    ["est. cost", a.estimatedCost.toFixed(4), b.estimatedCost.toFixed(4)],
    ["latency p50 ms", String(a.latencyMs.p50), String(b.latencyMs.p50)],
    ["latency p95 ms", String(a.latencyMs.p95), String(b.latencyMs.p95)],
    ["verdicts", fmtCounts(a.verdicts), fmtCounts(b.verdicts)],
  ];
  if (a.recordedAnswers && b.recordedAnswers) {
    const fmt = (r: { recorded: number; missing: number }) => `${r.recorded} (${r.missing} not recorded)`;
    rows.push(["answered from recording", fmt(a.recordedAnswers), fmt(b.recordedAnswers)]);
  }
  if (a.windows && b.windows) {
    const total = a.windows.caught.length + a.windows.missed.length;
    rows.push([
      "labelled windows caught",
      `${a.windows.caught.length}/${total}`,
      `${b.windows.caught.length}/${total}`,
    ]);
    rows.push(["missed", a.windows.missed.join(", ") || "-", b.windows.missed.join(", ") || "-"]);
  }
  const header: [string, string, string] = ["", `A: ${a.label}`, `B: ${b.label}`];
  const all = [header, ...rows];
  const w = [0, 1, 2].map((i) => Math.max(...all.map((r) => r[i]!.length)));
  return `${all
    .map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

function fmtCounts(r: Record<string, number>): string {
  const entries = Object.entries(r).sort(([x], [y]) => x.localeCompare(y));
  return entries.length === 0 ? "-" : entries.map(([k, v]) => `${k} ${v}`).join(", ");
}
