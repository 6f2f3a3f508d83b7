import type { Command } from "commander";
import { nodeName, type Topology, TopologyRunner } from "../../streams/index.js";
import { runCommand, UsageError, withRuntime } from "../command-context.js";
import { liveView } from "../live-view/live-view.js";
import { addMetricsOptions, type MetricsFlags, withMetricsServer } from "../metrics-server.js";
import { DEFAULT_TOPOLOGY, loadTopology, presetNames } from "../topology/index.js";

export function registerRun(program: Command): void {
  const run = program
    .command("run")
    .description("Run a topology until SIGINT/SIGTERM, then finish in-flight records, commit and exit")
    .option(
      "--topology <file|preset>",
      `topology file, or a preset from topologies/ (${presetNames().join(", ")})`,
      DEFAULT_TOPOLOGY,
    )
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
      "\nPer-node options come from the topology file and the configuration's `nodes` map (which wins), e.g. in spikemesh.yaml:\n  nodes:\n    router: { windowMs: 10000 }\n    snn-filter: { zDeadband: 3 }\n`spikemesh topology show <file|preset>` prints a topology's nodes and topics.",
    )
    .action(async (flags: { topology: string; only?: string[] } & MetricsFlags, command: Command) => {
      await runCommand(command, (ctx) => {
        // Read and check the topology before opening anything: a bad file stops here.
        const loaded = loadTopology(flags.topology, {
          appId: ctx.config.appId,
          partitions: ctx.config.runner.partitions,
          nodes: ctx.config.nodes,
        });
        const topology = onlyNodes(loaded.topology, flags.only);
        return withRuntime(ctx, (runtime) =>
          withMetricsServer(
            flags,
            ctx.log,
            async (metrics) => {
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
                  topology: loaded.name,
                  file: loaded.file,
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
        );
      });
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
