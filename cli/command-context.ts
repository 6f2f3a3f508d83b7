import type { Command } from "commander";
import { ConfigError, describeError, isSpikemeshError, type Logger } from "../streams/index.js";
import { createLogger } from "../streams/logger.js";
import { loadConfig, type SpikemeshConfig } from "./config.js";
import { openRuntime, type Runtime, type RuntimeOptions } from "./runtime.js";

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  logLevel?: string;
  registry?: string;
  brokers?: string;
}

export interface CommandContext {
  config: SpikemeshConfig;
  log: Logger;
  /** Aborted on SIGINT or SIGTERM: commands finish what is in flight and return. */
  signal: AbortSignal;
}

/** Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage, 130 interrupted twice. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** Resolves the configuration of a command from the file, SPIKEMESH_* environment and global flags. */
export function commandConfig(command: Command): SpikemeshConfig {
  const g = command.optsWithGlobals<GlobalOptions>();
  return loadConfig({
    ...(g.config === undefined ? {} : { file: g.config }),
    env: process.env,
    flags: {
      dataDir: g.dataDir,
      logLevel: g.logLevel,
      ...(g.registry === undefined ? {} : { registry: { url: g.registry } }),
      ...(g.brokers === undefined ? {} : { kafka: { brokers: g.brokers } }),
    },
  });
}

/**
 * Runs a command body with its config, a logger on stderr and a signal for SIGINT/SIGTERM: the
 * first signal asks for a graceful stop, a second one exits at once. Errors become a clear message
 * and an exit code rather than a stack trace.
 */
export async function runCommand(
  command: Command,
  body: (ctx: CommandContext) => Promise<number | undefined>,
): Promise<void> {
  const controller = new AbortController();
  let log: Logger | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`\nspikemesh: second ${signal}, exiting now\n`);
      process.exit(EXIT.interrupted);
    }
    process.stderr.write(`\nspikemesh: ${signal} received, finishing in-flight records (again to force)\n`);
    controller.abort(new Error(`${signal} received`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const config = commandConfig(command);
    log = createLogger({ level: config.logLevel });
    process.exitCode = (await body({ config, log, signal: controller.signal })) ?? EXIT.ok;
  } catch (err) {
    process.exitCode = reportError(err, log);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    log?.flush();
  }
}

/** Opens the runtime for the command's data dir and registry, runs `use`, and always closes it. */
export async function withRuntime<T>(
  ctx: CommandContext,
  use: (runtime: Runtime) => Promise<T>,
  options: RuntimeOptions = {},
): Promise<T> {
  const runtime = await openRuntime(ctx.config, ctx.log, options);
  try {
    return await use(runtime);
  } finally {
    await runtime.close();
  }
}

function reportError(err: unknown, log: Logger | undefined): number {
  if (err instanceof ConfigError) {
    process.stderr.write(
      `spikemesh: invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join("\n")}\n`,
    );
    return EXIT.usage;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`spikemesh: ${err.message}\n`);
    return EXIT.usage;
  }
  const message = isSpikemeshError(err) ? `${err.code}: ${err.message}` : describeError(err);
  process.stderr.write(`spikemesh: ${message}\n`);
  log?.debug({ err }, "command failed");
  return EXIT.failure;
}

/** A wrong argument or input file: reported without a stack, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
