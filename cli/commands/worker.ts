import { type Command, InvalidArgumentError } from "commander";
import { ConfigError } from "../../streams/index.js";
import {
  defaultWorkerId,
  parseCapabilitiesArg,
  resolveCapabilities,
  type WorkerConfig,
} from "../cluster/cluster-config.js";
import { ClusterWorkerProcess } from "../cluster/worker-process.js";
import { runCommand, withRuntime } from "../command-context.js";
import { addMetricsOptions, type MetricsFlags, withMetricsServer } from "../metrics-server.js";
import { intArg } from "./demo.js";

interface WorkerFlags extends MetricsFlags {
  tier?: string;
  capabilities?: string;
  id?: string;
  heartbeatMs?: number;
  modelPath?: string;
  backendUrl?: string;
  gpuLayers?: number | "max" | "auto";
  dispatcher: boolean;
}

export function registerWorker(program: Command): void {
  const worker = program
    .command("worker")
    .description(
      "Run a tier worker of a capability-matched cluster: advertise capabilities on workers.heartbeats and answer the requests the tier's dispatcher assigns to it",
    )
    .option("--tier <tier>", "tier to answer, e.g. deepseek (or worker.tier)")
    .option(
      "--capabilities <list>",
      "what this worker can run: model=NAME,params=2.7b,memoryGb=N,formats=gguf|onnx,gpu=true|false,concurrency=N (or worker.capabilities)",
    )
    .option("--id <workerId>", "worker id, unique in the cluster (default <host>-<pid>, or worker.id)")
    .option("--heartbeat-ms <ms>", "milliseconds between heartbeats (default 2000)", intArg(50, 600_000))
    .option("--model-path <file>", "answer with this GGUF model through node-llama-cpp (backend kind llama)")
    .option("--backend-url <url>", "answer through an OpenAI-compatible server, e.g. http://gpu-box:8080/v1")
    .option("--gpu-layers <n>", "with --model-path: layers on the GPU, a count, max or auto", gpuLayersArg)
    .option(
      "--dispatcher",
      "also run the tier's dispatcher in this process (its consumer group spreads over every process that does)",
      false,
    );
  addMetricsOptions(worker)
    .addHelpText(
      "after",
      '\nExamples:\n  spikemesh worker --tier phi2 --capabilities model=phi2,params=2.7b,memoryGb=8,formats=gguf,gpu=false,concurrency=4 --model-path /models/phi-2.Q4_K_M.gguf\n  spikemesh worker --tier deepseek --brokers kafka:9092 --registry http://registry:8081 \\\n    --capabilities model=deepseek,params=7b,memoryGb=24,gpu=true,concurrency=8 --model-path /models/deepseek.gguf --gpu-layers max\n\nRequests name what they need in their context\'s `requires` (model, minParamsB, minMemoryGb, format, gpu); see README "Worker cluster".',
    )
    .action(async (flags: WorkerFlags, command: Command) => {
      await runCommand(command, async (ctx) => {
        const settings = workerSettings(ctx.config.worker, flags);
        return withRuntime(ctx, (runtime) =>
          withMetricsServer(flags, ctx.log, async (metrics) => {
            const proc = new ClusterWorkerProcess({
              transport: runtime.transport,
              codec: runtime.codec,
              log: ctx.log.child({ worker: settings.workerId }),
              metrics,
              appId: ctx.config.appId,
              partitions: ctx.config.runner.partitions,
              ...settings,
              runner: {
                seed: ctx.config.runner.seed,
                guarantee: ctx.config.runner.guarantee,
                maxBatchRecords: ctx.config.runner.maxBatchRecords,
                maxQueuedRecords: ctx.config.runner.maxQueuedRecords,
                maxRetries: ctx.config.runner.maxRetries,
              },
            });
            const stopped = new Promise<void>((resolve) =>
              ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
            );
            try {
              await proc.start();
              process.stdout.write(
                `worker ${settings.workerId} (tier ${settings.tier}) ready: ${JSON.stringify(settings.capabilities)}\n`,
              );
              await Promise.race([stopped, proc.crashed]);
            } finally {
              await proc.stop();
            }
            return 0;
          }),
        );
      });
    });
}

/** Flags over the `worker` section; every problem is a ConfigError naming its field. */
function workerSettings(config: WorkerConfig, flags: WorkerFlags) {
  const problems: string[] = [];
  const tier = flags.tier ?? config.tier;
  if (tier === undefined) problems.push("--tier: required (or worker.tier in the configuration)");
  else if (!/^[a-z0-9][a-z0-9-]*$/.test(tier))
    problems.push(`--tier: "${tier}" must be lower-case letters, digits or '-'`);
  const workerId = flags.id ?? config.id ?? defaultWorkerId();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(workerId)) {
    problems.push(`--id: "${workerId}" must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  if (flags.modelPath !== undefined && flags.backendUrl !== undefined) {
    problems.push("--model-path, --backend-url: give one backend, not both");
  }
  let capabilities: ReturnType<typeof resolveCapabilities> | undefined;
  try {
    capabilities =
      flags.capabilities === undefined
        ? resolveCapabilities(config.capabilities, "worker.capabilities")
        : resolveCapabilities(parseCapabilitiesArg(flags.capabilities), "--capabilities");
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems);
    else throw err;
  }
  if (problems.length > 0 || capabilities === undefined || tier === undefined)
    throw new ConfigError(problems);
  const options: Record<string, unknown> = { ...config.options };
  // A backend flag replaces the configured backend, keeping its other settings when of the same kind.
  const configured = (kind: string) => {
    const b = config.options.backend;
    return typeof b === "object" && b !== null && (b as { kind?: unknown }).kind === kind ? b : {};
  };
  if (flags.modelPath !== undefined) {
    options.backend = {
      ...configured("llama"),
      kind: "llama",
      modelPath: flags.modelPath,
      model: capabilities.model,
      gpuLayers: flags.gpuLayers ?? (capabilities.gpu ? "max" : 0),
      sequences: capabilities.concurrency,
    };
  } else if (flags.backendUrl !== undefined) {
    options.backend = {
      ...configured("http"),
      kind: "http",
      baseUrl: flags.backendUrl,
      model: capabilities.model,
    };
  }
  return {
    tier,
    workerId,
    capabilities,
    heartbeatMs: flags.heartbeatMs ?? config.heartbeatMs,
    options,
    ...(flags.dispatcher ? { dispatcher: config.dispatcher } : {}),
  };
}

function gpuLayersArg(value: string): number | "max" | "auto" {
  if (value === "max" || value === "auto") return value;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0) return n;
  throw new InvalidArgumentError(`expected a layer count, max or auto, got "${value}"`);
}
