import { open, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type {
  ChatHistoryItem,
  Llama,
  LlamaChat,
  LlamaContext,
  LlamaContextSequence,
  LlamaGrammar,
  LlamaModel,
} from "node-llama-cpp";
import { ConfigError } from "../../streams/index.js";

/** How a model is loaded and run; engines with equal options are shared. */
export interface LlamaEngineOptions {
  modelPath: string;
  /** GPU backend: "auto" picks CUDA, Vulkan or Metal when present; false stays on the CPU. */
  gpu: "auto" | "cuda" | "vulkan" | "metal" | false;
  /** Layers offloaded to the GPU: "auto" (fit memory), "max", or a count; 0 runs on the CPU. */
  gpuLayers: "auto" | "max" | number;
  /** CPU threads of llama.cpp. */
  maxThreads: number;
  /** Context size per sequence, tokens. */
  contextSize: number;
  /** Sequences evaluated in parallel: requests answered at once. */
  sequences: number;
  flashAttention: boolean;
  /** Tokens evaluated per batch; undefined for node-llama-cpp's default. */
  batchSize?: number | undefined;
  /** Where the engine reports what llama.cpp logged (warnings and errors). */
  onLog?: ((level: string, message: string) => void) | undefined;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface GenerateRequest {
  messages: readonly ChatMessage[];
  /** Constrains the output to this JSON schema (a grammar). */
  jsonSchema?: object | undefined;
  /** Without a schema: constrain the output to any JSON value (OpenAI's `json_object` mode). */
  isJson?: boolean | undefined;
  maxTokens: number;
  temperature: number;
  seed?: number | undefined;
  signal: AbortSignal;
}

export interface Generation {
  text: string;
  promptTokens: number;
  completionTokens: number;
  /** "stop" (end of text or grammar), "length" (maxTokens) or "other". */
  finishReason: "stop" | "length" | "other";
}

type LlamaModule = typeof import("node-llama-cpp");

/** llama.cpp log lines kept to explain a failed load (it reports the reason only in its log). */
const RECENT_LOG_LINES = 40;
/** How long a failed load waits for llama.cpp's explanation to arrive in the log, ms. */
const LOG_WAIT_MS = 500;
/** Magic, version, tensor count and KV count. */
const GGUF_HEADER_BYTES = 24;

interface SharedLlama {
  llama: Llama;
  /** The last lines llama.cpp logged, numbered. */
  recent: { n: number; line: string }[];
  logged: number;
  listeners: Set<(level: string, message: string) => void>;
  key: string;
  /** Engines (and loads in progress) using this instance; at 0 it is disposed so the process can exit. */
  users: number;
}

const llamas = new Map<string, Promise<SharedLlama>>();
const engines = new Map<string, { engine: Promise<LlamaEngine>; refs: number }>();

async function sharedLlama(mod: LlamaModule, gpu: LlamaEngineOptions["gpu"], maxThreads: number) {
  const key = `${gpu}|${maxThreads}`;
  let shared = llamas.get(key);
  if (!shared) {
    const listeners = new Set<(level: string, message: string) => void>();
    const state = { recent: [] as SharedLlama["recent"], logged: 0, listeners, key, users: 0 };
    shared = mod
      .getLlama({
        gpu,
        maxThreads,
        logLevel: mod.LlamaLogLevel.warn,
        logger: (level, message) => {
          const line = message.trim();
          state.recent.push({ n: state.logged++, line });
          if (state.recent.length > RECENT_LOG_LINES) state.recent.shift();
          for (const listener of listeners) listener(level, line);
        },
      })
      .then((llama) => Object.assign(state, { llama }));
    llamas.set(key, shared);
    shared.catch(() => llamas.delete(key));
  }
  const llama = await shared;
  llama.users++;
  return llama;
}

/** One user fewer; the last one disposes the instance (its native threads keep a process alive). */
async function releaseLlama(shared: SharedLlama): Promise<void> {
  shared.users--;
  if (shared.users > 0) return;
  llamas.delete(shared.key);
  await shared.llama.dispose();
}

/** Checks the file before llama.cpp sees it, so the common mistakes get a precise message. */
async function checkModelFile(path: string, field: string): Promise<void> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new ConfigError([`${field}: cannot read model file ${path}: ${(err as Error).message}`], {
      cause: err,
      context: { file: path },
    });
  }
  const head = Buffer.alloc(8);
  const file = await open(path, "r");
  try {
    await file.read(head, 0, 8, 0);
  } finally {
    await file.close();
  }
  const magic = head.subarray(0, 4).toString("latin1");
  if (size < GGUF_HEADER_BYTES || magic !== "GGUF") {
    throw new ConfigError(
      [
        `${field}: ${path} is not a GGUF model file (${size} bytes, starts with ${JSON.stringify(magic)}, expected "GGUF"); point it at a .gguf file`,
      ],
      { context: { file: path } },
    );
  }
  // node-llama-cpp reads an unknown version as v3 and can hang on the garbage that follows.
  const version = head.readUInt32LE(4);
  if (version !== 2 && version !== 3) {
    throw new ConfigError(
      [`${field}: ${path} has GGUF version ${version}; llama.cpp reads versions 2 and 3 (corrupt header?)`],
      { context: { file: path } },
    );
  }
}

/**
 * One loaded model with one context of `sequences` sequences, shared by every backend in the
 * process that asks for the same options (reference-counted: `acquire` / `release`). Each request
 * borrows a free sequence, so `sequences` requests run at once and the rest wait their turn; a
 * sequence keeps its chat state, so a prompt that starts like the last one reuses its evaluated
 * prefix (the system prompt).
 */
export class LlamaEngine {
  private readonly free: { sequence: LlamaContextSequence; chat: LlamaChat }[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();

  private constructor(
    private readonly mod: LlamaModule,
    private readonly shared: SharedLlama,
    readonly model: LlamaModel,
    private readonly context: LlamaContext,
  ) {
    for (let i = 0; i < context.totalSequences; i++) {
      const sequence = context.getSequence();
      this.free.push({ sequence, chat: new mod.LlamaChat({ contextSequence: sequence }) });
    }
  }

  /** The shared engine for `options`, loading the model on first use. `field` names the option in errors. */
  static async acquire(options: LlamaEngineOptions, field = "backend.modelPath"): Promise<LlamaEngine> {
    const path = resolve(options.modelPath);
    const { onLog, ...rest } = options;
    const key = JSON.stringify({ ...rest, modelPath: path });
    let entry = engines.get(key);
    if (!entry) {
      entry = { engine: LlamaEngine.load({ ...options, modelPath: path }, field), refs: 0 };
      engines.set(key, entry);
      const created = entry;
      created.engine.catch(() => {
        if (engines.get(key) === created) engines.delete(key);
      });
    }
    entry.refs++;
    const engine = await entry.engine;
    engine.key = key;
    if (onLog) engine.shared.listeners.add(onLog);
    return engine;
  }

  /** This engine's entry in the shared table. */
  private key = "";

  private static async load(options: LlamaEngineOptions, field: string): Promise<LlamaEngine> {
    await checkModelFile(options.modelPath, field);
    const mod = await import("node-llama-cpp");
    const gpu = options.gpuLayers === 0 ? false : options.gpu;
    const shared = await sharedLlama(mod, gpu, options.maxThreads);
    try {
      return await LlamaEngine.loadOn(mod, shared, options, field);
    } catch (err) {
      await releaseLlama(shared);
      throw err;
    }
  }

  private static async loadOn(
    mod: LlamaModule,
    shared: SharedLlama,
    options: LlamaEngineOptions,
    field: string,
  ): Promise<LlamaEngine> {
    const logStart = shared.logged;
    let model: LlamaModel;
    try {
      model = await shared.llama.loadModel({ modelPath: options.modelPath, gpuLayers: options.gpuLayers });
    } catch (err) {
      // llama.cpp's log lines reach the logger asynchronously, after the rejection.
      let why = loadFailureReason(shared.recent, logStart);
      for (let waited = 0; why === undefined && waited < LOG_WAIT_MS; waited += 10) {
        await sleep(10);
        why = loadFailureReason(shared.recent, logStart);
      }
      why ??= (err as Error).message;
      throw new ConfigError(
        [
          `${field}: llama.cpp could not load ${options.modelPath}: ${why} (is the file truncated or corrupt? download or generate it again)`,
        ],
        { cause: err, context: { file: options.modelPath } },
      );
    }
    try {
      const context = await model.createContext({
        sequences: options.sequences,
        contextSize: options.contextSize,
        flashAttention: options.flashAttention,
        threads: options.maxThreads,
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      });
      return new LlamaEngine(mod, shared, model, context);
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }

  /** Gives the engine back; the last holder disposes context and model. */
  async release(onLog?: LlamaEngineOptions["onLog"]): Promise<void> {
    if (onLog) this.shared.listeners.delete(onLog);
    const entry = engines.get(this.key);
    if (!entry) return;
    entry.refs--;
    if (entry.refs > 0) return;
    engines.delete(this.key);
    await this.context.dispose();
    await this.model.dispose();
    await releaseLlama(this.shared);
  }

  /** Sequences in the context: how many requests run at once. */
  get parallelism(): number {
    return this.context.totalSequences;
  }

  /** A grammar for a JSON schema, built once per schema. */
  grammarFor(schema: object): Promise<LlamaGrammar> {
    const key = JSON.stringify(schema);
    let grammar = this.grammars.get(key);
    if (!grammar) {
      // The schema is checked by llama.cpp's converter at run time; its static type is too deep to name here.
      grammar = this.shared.llama.createGrammarForJsonSchema(schema as never) as Promise<LlamaGrammar>;
      this.grammars.set(key, grammar);
      grammar.catch(() => this.grammars.delete(key));
    }
    return grammar;
  }

  /** Runs one chat completion on a free sequence (waiting for one, abortably). */
  async generate(request: GenerateRequest): Promise<Generation> {
    const grammar = request.jsonSchema
      ? await this.grammarFor(request.jsonSchema)
      : request.isJson
        ? await this.shared.llama.getGrammarFor("json")
        : undefined;
    const slot = await this.borrow(request.signal);
    try {
      const before = slot.sequence.tokenMeter.getState();
      const result = await slot.chat.generateResponse(toHistory(request.messages), {
        maxTokens: request.maxTokens,
        temperature: request.temperature,
        ...(request.seed === undefined ? {} : { seed: request.seed }),
        ...(grammar ? { grammar } : {}),
        signal: request.signal,
      });
      const used = this.mod.TokenMeter.diff(slot.sequence.tokenMeter, before);
      const stop = result.metadata.stopReason;
      return {
        text: result.response,
        promptTokens: used.usedInputTokens,
        completionTokens: used.usedOutputTokens,
        finishReason: stop === "maxTokens" ? "length" : stop === "abort" ? "other" : "stop",
      };
    } finally {
      this.giveBack(slot);
    }
  }

  private async borrow(signal: AbortSignal) {
    signal.throwIfAborted();
    while (this.free.length === 0) {
      await new Promise<void>((resolveWait, reject) => {
        const onAbort = () => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        };
        const wake = () => {
          signal.removeEventListener("abort", onAbort);
          resolveWait();
        };
        this.waiters.push(wake);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    return this.free.pop()!;
  }

  private giveBack(slot: { sequence: LlamaContextSequence; chat: LlamaChat }): void {
    this.free.push(slot);
    this.waiters.shift()?.();
  }
}

/** The lines llama.cpp logged since `from` that say why a load failed, without its generic ones. */
function loadFailureReason(recent: SharedLlama["recent"], from: number): string | undefined {
  const reasons = recent
    .filter((r) => r.n >= from)
    .map((r) => r.line)
    .filter((l) => /error|failed to read|not within|not found|invalid|corrupt|wrong/i.test(l))
    .filter((l) => !/failed to load model$|Failed simulating model resource usage/i.test(l));
  return reasons.length > 0 ? [...new Set(reasons)].join("; ") : undefined;
}

function toHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  return messages.map((m): ChatHistoryItem => {
    if (m.role === "system") return { type: "system", text: m.content };
    if (m.role === "user") return { type: "user", text: m.content };
    return { type: "model", response: [m.content] };
  });
}
