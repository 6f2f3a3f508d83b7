/**
 * Model tiers, ours against raw node-llama-cpp on the same GGUF, side by side in one process:
 *   npx tsx bench/model-tiers.ts                          # CPU, the generated tiny model
 *   npx tsx bench/model-tiers.ts --model m.gguf --gpu-layers max --concurrency 1,4,16
 * "ours": ReasoningRequests through the escalation tier worker (test driver: Avro round trip,
 * prompt files, verdict grammar, parse and validation, retries and breaker) with the llama backend,
 * one worker per concurrent partition sharing one engine of `concurrency` sequences. "raw": the same
 * prompts and grammar straight into node-llama-cpp (LlamaChat.generateResponse on a context with
 * as many sequences). Both sample greedily with the same maxTokens, so they generate the same
 * tokens; the ratio is ours / raw. Options: --model PATH (default: generate the tiny model),
 * --gpu-layers N|max (default 0), --threads N (default 1 on CPU), --concurrency LIST (default 1,4),
 * --requests N per repetition (default 12), --reps N alternating repetitions (default 3; medians shown), --flash-attention, --json PATH.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type LlamaBackendOptions, llamaBackendOptionsSchema } from "../processors/escalation-tier/index.js";
import type { ReasoningRequest } from "../schemas/index.js";
import { writeLlamaGguf } from "../scripts/gguf/llama-gguf.js";
import { openRawSide, openWorkerSide, type TierRun } from "./model-tiers-sides.js";
import { describeMachine, machineLine } from "./report.js";

const USAGE =
  "usage: tsx bench/model-tiers.ts [--model PATH] [--gpu-layers N|max] [--threads N] [--concurrency 1,4] [--requests N] [--reps N] [--flash-attention] [--json PATH]";

function settings() {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      "gpu-layers": { type: "string", default: "0" },
      threads: { type: "string" },
      concurrency: { type: "string", default: "1,4" },
      requests: { type: "string", default: "12" },
      reps: { type: "string", default: "3" },
      "flash-attention": { type: "boolean", default: false },
      json: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const gpuLayers = values["gpu-layers"] === "max" ? "max" : Number(values["gpu-layers"]);
  const concurrency = values.concurrency.split(",").map(Number);
  const requests = Number(values.requests);
  const reps = Number(values.reps);
  if (
    (gpuLayers !== "max" && !Number.isInteger(gpuLayers)) ||
    concurrency.some((c) => !(c >= 1)) ||
    !(requests >= 1)
  ) {
    throw new Error(USAGE);
  }
  let model = values.model;
  if (model === undefined) {
    model = join(tmpdir(), `spikemesh-bench-tiny-${process.pid}.gguf`);
    writeLlamaGguf(model, { shape: "tiny", type: "F32", seed: 1 });
  }
  const threads = values.threads === undefined ? (gpuLayers === 0 ? 1 : 4) : Number(values.threads);
  return {
    model,
    gpuLayers,
    threads,
    concurrency,
    requests,
    reps,
    flashAttention: values["flash-attention"],
    json: values.json,
  };
}

/** Distinct requests, so every prompt differs after the shared system prompt (no full-prompt reuse). */
function requests(n: number, offset: number): ReasoningRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const k = offset + i;
    const value = 90 + (k % 10) + k / 1000;
    return {
      id: `bench-${k}`,
      ts: 1_000,
      tier: "phi2",
      route: "single->phi2",
      source: `host-${k % 7}`,
      spikes: [
        {
          timestamp: 900,
          source_rank: 0,
          target_rank: 1,
          type: "SENSOR_EVENT",
          payload: JSON.stringify({ metric: "cpu.util", value, z: 3 + (k % 5) }),
          source: `host-${k % 7}`,
          neuron: 0,
          intensity: 1.5 + (k % 4) / 2,
          traceId: "0".repeat(32),
        },
      ],
      context: JSON.stringify({
        kind: "single",
        sources: [`host-${k % 7}`],
        summary: { maxIntensity: 1.5 + (k % 4) / 2 },
      }),
      deadline: 9_000_000_000_000,
      depth: 0,
    };
  });
}

const rate = (n: number, ms: number) => (n / ms) * 1000;

function row(label: string, c: number, ours: TierRun, raw: TierRun): string {
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
  const oursV = rate(ours.requests, ours.ms);
  const rawV = rate(raw.requests, raw.ms);
  const oursGen = rate(ours.completionTokens, ours.ms);
  const rawGen = rate(raw.completionTokens, raw.ms);
  const oursPrompt = rate(ours.promptTokens, ours.ms);
  const rawPrompt = rate(raw.promptTokens, raw.ms);
  return `| ${label} | ${c} | ${f(oursV)} | ${f(rawV)} | ${(oursV / rawV).toFixed(2)} | ${f(oursGen)} | ${f(rawGen)} | ${(oursGen / rawGen).toFixed(2)} | ${f(oursPrompt)} | ${f(rawPrompt)} | ${ours.failures} |`;
}

async function main(): Promise<void> {
  const s = settings();
  const machine = describeMachine();
  console.log(`# model tiers: ${s.model}\n${machineLine(machine)}\n${new Date().toISOString()}`);
  console.log(
    `gpuLayers ${s.gpuLayers}, threads ${s.threads}, ${s.reps} alternating repetitions of ${s.requests} requests per case, greedy\n`,
  );
  const lines = [
    "| case | concurrency | ours verdicts/s | raw verdicts/s | ratio | ours gen tok/s | raw gen tok/s | ratio | ours prompt tok/s | raw prompt tok/s | invalid verdicts |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const results: unknown[] = [];
  let offset = 0;
  for (const c of s.concurrency) {
    const options: LlamaBackendOptions = llamaBackendOptionsSchema.parse({
      kind: "llama",
      modelPath: s.model,
      model: "bench",
      gpuLayers: s.gpuLayers,
      maxThreads: s.threads,
      sequences: c,
      contextSize: 4096,
      flashAttention: s.flashAttention,
    });
    const warm = requests(c, 1_000_000 + offset);
    const raw = await openRawSide(options, warm, c);
    const ours = await openWorkerSide(options, warm, c);
    const pairs: { ours: TierRun; raw: TierRun }[] = [];
    try {
      // Alternating repetitions on the same batch, so load from elsewhere hits both sides alike.
      for (let rep = 0; rep < s.reps; rep++) {
        const batch = requests(s.requests, offset);
        offset += s.requests;
        process.stderr.write(`concurrency ${c}: repetition ${rep + 1}/${s.reps}\n`);
        const first = rep % 2 === 0 ? raw : ours;
        const second = rep % 2 === 0 ? ours : raw;
        const a = await first.run(batch);
        const b = await second.run(batch);
        pairs.push(rep % 2 === 0 ? { raw: a, ours: b } : { ours: a, raw: b });
      }
    } finally {
      await ours.close();
      await raw.close();
    }
    const median = (pick: (p: { ours: TierRun; raw: TierRun }) => number) => {
      const sorted = pairs.map(pick).sort((x, y) => x - y);
      return sorted[Math.floor(sorted.length / 2)]!;
    };
    const mid = pairs.find((p) => p.ours.ms === median((q) => q.ours.ms)) ?? pairs[0]!;
    const midRaw = pairs.find((p) => p.raw.ms === median((q) => q.raw.ms)) ?? pairs[0]!;
    lines.push(row("verdict (median)", c, mid.ours, midRaw.raw));
    const ratios = pairs.map((p) => (p.raw.ms / p.ours.ms).toFixed(2)).join(", ");
    lines.push(`|  | ${c} | per-repetition verdicts/s ratios: ${ratios} |  |  |  |  |  |  |  |  |`);
    results.push({ concurrency: c, pairs });
  }
  console.log(lines.join("\n"));
  if (s.json) writeFileSync(s.json, JSON.stringify({ machine, settings: s, results }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
