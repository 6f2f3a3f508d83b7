import { availableParallelism } from "node:os";
import { basename } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { Registry } from "prom-client";
import { LlamaEngine } from "../../processors/index.js";
import { requireKeysOffLoopback } from "../../streams/http/api-keys.js";
import { runCommand } from "../command-context.js";
import { OpenAiModelServer } from "../model-server/openai-server.js";
import { intArg } from "./demo.js";

interface ServeModelFlags {
  model: string;
  port: number;
  host: string;
  name?: string;
  gpuLayers: number | "auto" | "max";
  threads: number;
  sequences: number;
  contextSize: number;
  flashAttention: boolean;
}

export function registerServeModel(program: Command): void {
  program
    .command("serve-model")
    .description(
      "Serve a GGUF model over an OpenAI-compatible HTTP API (node-llama-cpp), e.g. a GPU machine serving a tier",
    )
    .requiredOption("--model <file>", "GGUF model file")
    .option("--port <n>", "TCP port", intArg(0, 65_535), 8080)
    .option("--host <address>", "interface to listen on (0.0.0.0 for other machines)", "127.0.0.1")
    .option("--name <id>", "model id reported and accepted (default: the file name without .gguf)")
    .option("--gpu-layers <n>", "layers on the GPU: a count, max or auto (0 = CPU only)", gpuLayersArg, 0)
    .option(
      "--threads <n>",
      "llama.cpp CPU threads (default half the cores)",
      intArg(1, 1024),
      Math.max(1, Math.floor(availableParallelism() / 2)),
    )
    .option("--sequences <n>", "requests evaluated at once", intArg(1, 256), 4)
    .option("--context-size <n>", "context per sequence, tokens", intArg(256, 1_048_576), 4096)
    .option("--flash-attention", "use flash attention (GPUs that support it)", false)
    .addHelpText(
      "after",
      "\nEndpoints: POST /v1/chat/completions (response_format json_schema and json_object become grammars; no streaming),\nGET /v1/models, GET /health, GET /metrics. A tier uses it with backend { kind: http, baseUrl: http://host:port/v1, model: <id>, apiKey: <key> }.\nPOST needs a key from serveModel.apiKeys (SPIKEMESH_SERVE_MODEL__API_KEYS=k1,k2) when set; listening beyond 127.0.0.1 requires one.\nGPU machines need the CUDA build: npm install @node-llama-cpp/linux-x64-cuda. Ctrl-C or SIGTERM stops it.",
    )
    .action(async (flags: ServeModelFlags, command: Command) => {
      await runCommand(command, async (ctx) => {
        const apiKeys = ctx.config.serveModel.apiKeys;
        requireKeysOffLoopback(flags.host, apiKeys, "serveModel.apiKeys");
        const engine = await LlamaEngine.acquire(
          {
            modelPath: flags.model,
            gpu: "auto",
            gpuLayers: flags.gpuLayers,
            maxThreads: flags.threads,
            contextSize: flags.contextSize,
            sequences: flags.sequences,
            flashAttention: flags.flashAttention,
            onLog: (level, message) => ctx.log.debug({ level }, message),
          },
          "--model",
        );
        const server = new OpenAiModelServer({
          engine,
          modelName: flags.name ?? basename(flags.model).replace(/\.gguf$/i, ""),
          port: flags.port,
          host: flags.host,
          metrics: new Registry(),
          log: ctx.log.child({ component: "serve-model" }),
          apiKeys,
        });
        try {
          const url = await server.start();
          process.stdout.write(`serving ${flags.model} on ${url} (${engine.parallelism} sequences)\n`);
          await new Promise<void>((resolve) =>
            ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
          );
        } finally {
          await server.close();
          await engine.release();
        }
        return 0;
      });
    });
}

function gpuLayersArg(value: string): number | "auto" | "max" {
  if (value === "auto" || value === "max") return value;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0) return n;
  throw new InvalidArgumentError(`expected a layer count, max or auto, got "${value}"`);
}
