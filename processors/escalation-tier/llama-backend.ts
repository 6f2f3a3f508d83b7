import { availableParallelism } from "node:os";
import { basename } from "node:path";
import { z } from "zod";
import type { ReasoningRequest } from "../../schemas/index.js";
import { SpikemeshError } from "../../streams/index.js";
import type { TierAnswer, TierBackend } from "./backend.js";
import { LlamaEngine, type LlamaEngineOptions } from "./llama-engine.js";
import { ModelPrompting, modelPromptingFields } from "./model-prompting.js";
import { answerFromVerdict, parseVerdict } from "./verdict.js";

/** Half the cores, at least 1: llama.cpp with more threads than free cores slows to a crawl. */
const DEFAULT_THREADS = Math.max(1, Math.floor(availableParallelism() / 2));

export const llamaBackendOptionsSchema = z.strictObject({
  kind: z.literal("llama"),
  /** A GGUF model file (your own Phi-2, DeepSeek, ... or one from scripts/gen-gguf.ts). Required. */
  modelPath: z.string().min(1),
  /** Reported as the result's `model` and a metric label. Default: the file name without `.gguf`. */
  model: z.string().min(1).optional(),
  /** Layers offloaded to the GPU: 0 (CPU only), a count, "max" or "auto". Default 0. */
  gpuLayers: z.union([z.literal("auto"), z.literal("max"), z.number().int().min(0)]).default(0),
  /** GPU backend when gpuLayers is not 0; "auto" picks what is installed. Default "auto". */
  gpu: z.union([z.enum(["auto", "cuda", "vulkan", "metal"]), z.literal(false)]).default("auto"),
  /** llama.cpp CPU threads. Default half the cores, at least 1 (1 on a 2-core machine). */
  maxThreads: z.number().int().min(1).default(DEFAULT_THREADS),
  /** Context per sequence, tokens: prompt plus answer must fit. Default 4096. */
  contextSize: z.number().int().min(256).default(4096),
  /** Sequences of the shared context: requests answered at once per model. Default 4. */
  sequences: z.number().int().min(1).max(256).default(4),
  /** Flash attention (faster on GPUs that support it). Default false. */
  flashAttention: z.boolean().default(false),
  /** Tokens per evaluation batch. Default: node-llama-cpp's (512). */
  batchSize: z.number().int().min(1).optional(),
  /** Sampling seed; with temperature > 0 the same seed gives the same answer. Default 0. */
  seed: z.number().int().min(0).default(0),
  ...modelPromptingFields,
});

export type LlamaBackendOptions = z.output<typeof llamaBackendOptionsSchema>;

/**
 * Answers with a local GGUF model through node-llama-cpp. The model is loaded once per process and
 * options (shared by every partition of the tier), with `sequences` requests evaluated at once;
 * output is constrained by a grammar built from the verdict record's JSON schema, then parsed and
 * validated. A missing, truncated or corrupt file fails `open()` with a ConfigError that names the
 * file and llama.cpp's reason.
 */
export class LlamaBackend implements TierBackend {
  readonly name = "llama";
  readonly model: string;
  private readonly prompting: ModelPrompting;
  private engine: LlamaEngine | undefined;
  private readonly engineOptions: LlamaEngineOptions;

  constructor(
    private readonly opts: LlamaBackendOptions,
    tier: string,
    onLog?: (level: string, message: string) => void,
  ) {
    this.model = opts.model ?? basename(opts.modelPath).replace(/\.gguf$/i, "");
    this.prompting = new ModelPrompting(opts, tier);
    this.engineOptions = {
      modelPath: opts.modelPath,
      gpu: opts.gpu,
      gpuLayers: opts.gpuLayers,
      maxThreads: opts.maxThreads,
      contextSize: opts.contextSize,
      sequences: opts.sequences,
      flashAttention: opts.flashAttention,
      batchSize: opts.batchSize,
      onLog,
    };
  }

  async open(signal: AbortSignal): Promise<void> {
    await this.prompting.load();
    signal.throwIfAborted();
    this.engine = await LlamaEngine.acquire(this.engineOptions);
  }

  async answer(request: ReasoningRequest, signal: AbortSignal): Promise<TierAnswer> {
    if (!this.engine) throw new SpikemeshError("CLOSED", "llama backend is not open");
    const generation = await this.engine.generate({
      messages: this.prompting.messages(request),
      jsonSchema: this.prompting.jsonSchema,
      maxTokens: this.opts.maxTokens,
      temperature: this.opts.temperature,
      seed: this.opts.seed,
      signal,
    });
    if (generation.finishReason === "length") {
      throw new SpikemeshError(
        "RECORD_INVALID",
        `model stopped at maxTokens (${this.opts.maxTokens}) before the verdict record was complete; raise backend.maxTokens`,
        { retriable: true },
      );
    }
    const verdict = parseVerdict(generation.text, this.prompting.shape);
    return answerFromVerdict(verdict, generation.completionTokens, generation.promptTokens);
  }

  async close(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    await engine?.release(this.engineOptions.onLog);
  }
}
