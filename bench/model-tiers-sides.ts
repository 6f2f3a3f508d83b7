/** The two sides of bench/model-tiers.ts: the tier worker, and raw node-llama-cpp. */
import {
  type EscalationTierOptions,
  type EscalationTierOutputs,
  escalationTierSpec,
  type LlamaBackendOptions,
} from "../processors/escalation-tier/index.js";
import { ModelPrompting } from "../processors/escalation-tier/model-prompting.js";
import type { ReasoningRequest } from "../schemas/index.js";
import { ManualClock, ProcessorTestDriver } from "../streams/index.js";

export interface TierRun {
  requests: number;
  ms: number;
  completionTokens: number;
  promptTokens: number;
  /** Requests without a valid verdict (ours only; raw does not parse). */
  failures: number;
}

/** Runs `items` through `concurrency` lanes, each taking the next item when free. */
async function lanes<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, lane: number) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      while (next < items.length) await work(items[next++]!, lane);
    }),
  );
}

/** One side of the comparison, loaded once and run on several batches. */
export interface BenchSide {
  run(batch: readonly ReasoningRequest[]): Promise<TierRun>;
  close(): Promise<void>;
}

/** Requests through `concurrency` tier workers (one per partition) sharing one engine. */
export async function openWorkerSide(
  options: LlamaBackendOptions,
  warm: readonly ReasoningRequest[],
  concurrency: number,
): Promise<BenchSide> {
  type Driver = ProcessorTestDriver<ReasoningRequest, EscalationTierOutputs, EscalationTierOptions>;
  const drivers: Driver[] = [];
  for (let p = 0; p < concurrency; p++) {
    drivers.push(
      new ProcessorTestDriver(
        escalationTierSpec,
        { tier: "phi2", backend: options, timeoutMs: 3_600_000 },
        { clock: new ManualClock(1_000), partition: p },
      ),
    );
  }
  const pipe = (r: ReasoningRequest, lane: number) =>
    drivers[lane]!.pipe({ key: r.source, value: r, timestampMs: r.ts });
  await lanes(warm, concurrency, pipe);
  for (const d of drivers) d.read("results");
  return {
    async run(batch) {
      const promptBefore = await promptTokens(drivers);
      const started = performance.now();
      await lanes(batch, concurrency, pipe);
      const ms = performance.now() - started;
      const results = drivers.flatMap((d) => d.read("results").map((r) => r.value));
      const dead = drivers.flatMap((d) => d.dlq);
      if (dead.length > 0) throw new Error(`the worker dead-lettered requests: ${dead[0]!.reason}`);
      return {
        requests: results.length,
        ms,
        completionTokens: results.reduce((a, r) => a + r.tokens, 0),
        promptTokens: (await promptTokens(drivers)) - promptBefore,
        failures: results.filter((r) => r.error !== null).length,
      };
    },
    async close() {
      for (const d of drivers) await d.close();
    },
  };
}

async function promptTokens(
  drivers: readonly { metrics: import("prom-client").Registry }[],
): Promise<number> {
  let total = 0;
  for (const d of drivers) {
    const m = await d.metrics.getSingleMetric("spikemesh_escalation_tier_prompt_tokens_total")?.get();
    total += m?.values.reduce((a, v) => a + v.value, 0) ?? 0;
  }
  return total;
}

/** The same prompts and grammar straight into node-llama-cpp, with as many sequences as lanes. */
export async function openRawSide(
  options: LlamaBackendOptions,
  warm: readonly ReasoningRequest[],
  concurrency: number,
): Promise<BenchSide> {
  const prompting = new ModelPrompting(options, "phi2");
  await prompting.load();
  const { getLlama, LlamaChat, LlamaLogLevel, TokenMeter } = await import("node-llama-cpp");
  const llama = await getLlama({
    gpu: options.gpuLayers === 0 ? false : "auto",
    maxThreads: options.maxThreads,
    logLevel: LlamaLogLevel.error,
  });
  const model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: options.gpuLayers });
  const context = await model.createContext({
    sequences: concurrency,
    contextSize: options.contextSize,
    flashAttention: options.flashAttention,
    threads: options.maxThreads,
  });
  const grammar = await llama.createGrammarForJsonSchema(prompting.jsonSchema as never);
  const slots = Array.from({ length: concurrency }, () => {
    const sequence = context.getSequence();
    return { sequence, chat: new LlamaChat({ contextSequence: sequence }) };
  });
  let completion = 0;
  let prompt = 0;
  const one = async (r: ReasoningRequest, lane: number) => {
    const slot = slots[lane]!;
    const before = slot.sequence.tokenMeter.getState();
    const [system, user] = prompting.messages(r);
    await slot.chat.generateResponse(
      [
        { type: "system", text: system!.content },
        { type: "user", text: user!.content },
      ],
      { grammar, maxTokens: options.maxTokens, temperature: options.temperature, seed: options.seed },
    );
    const used = TokenMeter.diff(slot.sequence.tokenMeter, before);
    completion += used.usedOutputTokens;
    prompt += used.usedInputTokens;
  };
  await lanes(warm, concurrency, one);
  return {
    async run(batch) {
      completion = 0;
      prompt = 0;
      const started = performance.now();
      await lanes(batch, concurrency, one);
      return {
        requests: batch.length,
        ms: performance.now() - started,
        completionTokens: completion,
        promptTokens: prompt,
        failures: 0,
      };
    },
    async close() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}
