import { type Command, InvalidArgumentError } from "commander";
import { nodeName, type Topology, TopologyRunner } from "../../streams/index.js";
import { runCommand, UsageError, withRuntime } from "../command-context.js";
import { liveView } from "../live-view/live-view.js";
import { meshTopology } from "../mesh-topology.js";
import { addMetricsOptions, type MetricsFlags, withMetricsServer } from "../metrics-server.js";

const PRESETS = ["mesh"] as const;
type Preset = (typeof PRESETS)[number];

export function registerRun(program: Command): void {
  const run = program
    .command("run")
    .description("Run a topology until SIGINT/SIGTERM, then finish in-flight records, commit and exit")
    .option("--topology <preset>", `topology preset (${PRESETS.join(", ")})`, presetArg, "mesh")
    .option(
      "--only <nodes>",
      "run only these nodes (comma-separated, e.g. snn-filter,router): one process per node scales them separately on Kafka",
      (value: string) =>
        value
          .split(",")
          .map((n) => n.trim())
          .filter((n) => n !== ""),
    );
  addMetricsOptions(run)
    .addHelpText(
      "after",
      "\nPer-node options come from the configuration's `nodes` map, e.g. in spikemesh.yaml:\n  nodes:\n    router: { windowMs: 10000 }\n    snn-filter: { zDeadband: 3 }",
    )
    .action(async (flags: { topology: Preset; only?: string[] } & MetricsFlags, command: Command) => {
      await runCommand(command, (ctx) =>
        withRuntime(ctx, (runtime) =>
          withMetricsServer(
            flags,
            ctx.log,
            async (metrics) => {
              const topology = onlyNodes(
                meshTopology({
                  appId: ctx.config.appId,
                  partitions: ctx.config.runner.partitions,
                  options: ctx.config.nodes,
                }),
                flags.only,
              );
              const runner = new TopologyRunner(topology, {
                transport: runtime.transport,
                codec: runtime.codec,
                logger: ctx.log,
                metrics,
                seed: ctx.config.runner.seed,
                guarantee: ctx.config.runner.guarantee,
                maxBatchRecords: ctx.config.runner.maxBatchRecords,
                maxQueuedRecords: ctx.config.runner.maxQueuedRecords,
                maxRetries: ctx.config.runner.maxRetries,
              });
              await runner.start();
              ctx.log.info(
                {
                  topology: flags.topology,
                  transport: runtime.transport.kind,
                  registry: runtime.registryUrl,
                },
                "running; Ctrl-C or SIGTERM stops gracefully",
              );
              const stopped = new Promise<void>((resolve) =>
                ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
              );
              try {
                await Promise.race([stopped, runner.crashed]);
              } finally {
                await runner.stop();
              }
              return 0;
            },
            () => liveView(runtime, ctx.log, { appId: ctx.config.appId, fromBeginning: false }),
          ),
        ),
      );
    });
}

/** The topology with only the named nodes (all of them when `names` is absent). */
function onlyNodes(topology: Topology, names: string[] | undefined): Topology {
  if (names === undefined) return topology;
  const known = topology.nodes.map(nodeName);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new UsageError(
      `--only: unknown node ${unknown.join(", ") || "(none given)"}; nodes: ${known.join(", ")}`,
    );
  }
  return { ...topology, nodes: topology.nodes.filter((n) => names.includes(nodeName(n))) };
}

function presetArg(value: string): Preset {
  if ((PRESETS as readonly string[]).includes(value)) return value as Preset;
  throw new InvalidArgumentError(`unknown topology "${value}"; presets: ${PRESETS.join(", ")}`);
}
