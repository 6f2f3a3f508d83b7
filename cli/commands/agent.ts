import { type Command, InvalidArgumentError } from "commander";
import { resolveAgentOptions } from "../agent/agent-options.js";
import { runHostAgent } from "../agent/host-agent.js";
import { runCommand, withRuntime } from "../command-context.js";
import { parseDuration } from "../durations.js";
import { addMetricsOptions, type MetricsFlags, withMetricsServer } from "../metrics-server.js";
import { intArg } from "./demo.js";

interface AgentFlags extends MetricsFlags {
  interval?: number;
  source?: string;
  logs?: string[];
  fromStart?: boolean;
  topic?: string;
  logsTopic?: string;
  partitions: number;
  count?: number;
  print: boolean;
}

export function registerAgent(program: Command): void {
  const agent = program
    .command("agent")
    .description(
      "Sample this machine's CPU, memory, disk I/O, network and processes from /proc at an interval into telemetry.raw, and optionally follow log files into logs.raw",
    )
    .option(
      "--interval <span>",
      "time between samples, 100ms to 1h (default 1s; config agent.intervalMs)",
      spanArg,
    )
    .option("--source <id>", "source id of the events (default: the host name; config agent.source)")
    .option(
      "--logs <files>",
      "log files to follow, comma-separated; appended lines become LogEvents",
      listArg,
    )
    .option("--from-start", "read the log files from their start, not only what is appended from now on")
    .option("--topic <name>", "topic of the TelemetryEvents (default telemetry.raw)")
    .option("--logs-topic <name>", "topic of the LogEvents (default logs.raw)")
    .option("--partitions <n>", "partitions when a topic is created", intArg(1, 1024), 2)
    .option("--count <n>", "take this many samples, then exit (default: until Ctrl-C)", intArg(1, 10_000_000))
    .option("--print", "also print each sample's events as JSON lines on stdout", false);
  addMetricsOptions(agent)
    .addHelpText(
      "after",
      "\nMetrics: cpu.busy_ratio, cpu.iowait_ratio, mem.used_ratio, mem.swap_used_ratio (with swap), disk.read_bytes_per_s,\ndisk.write_bytes_per_s, disk.busy_ratio, net.rx_bytes_per_s, net.tx_bytes_per_s, procs.running, procs.blocked,\nprocs.threads, procs.forks_per_s, load.avg_1m. Rates and CPU ratios start with the second sample.\n\nExamples:\n  spikemesh agent --interval 5s\n  spikemesh --brokers localhost:9092 agent --logs /var/log/syslog,/var/log/app.log",
    )
    .action(async (flags: AgentFlags, command: Command) => {
      await runCommand(command, async (ctx) => {
        const options = resolveAgentOptions(ctx.config.agent, {
          intervalMs: flags.interval,
          source: flags.source,
          logs: flags.logs,
          logsFromStart: flags.fromStart,
          telemetryTopic: flags.topic,
          logsTopic: flags.logsTopic,
        });
        const totals = await withRuntime(ctx, (runtime) =>
          withMetricsServer(flags, ctx.log, (metrics) =>
            runHostAgent(
              options,
              { transport: runtime.transport, codec: runtime.codec, log: ctx.log, metrics },
              {
                signal: ctx.signal,
                partitions: flags.partitions,
                ...(flags.count === undefined ? {} : { maxSamples: flags.count }),
                ...(flags.print
                  ? {
                      onSample: (s) => {
                        for (const e of [...s.telemetry, ...s.logs])
                          process.stdout.write(`${JSON.stringify(e)}\n`);
                      },
                    }
                  : {}),
              },
            ),
          ),
        );
        process.stderr.write(
          `agent: ${totals.samples} sample(s), ${totals.telemetryRecords} telemetry and ${totals.logRecords} log record(s) produced, ${totals.errors} error(s)\n`,
        );
        return 0;
      });
    });
}

function spanArg(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function listArg(value: string): string[] {
  return value
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "");
}
