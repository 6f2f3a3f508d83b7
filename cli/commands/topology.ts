import { type Command, Option } from "commander";
import { runCommand } from "../command-context.js";
import {
  DEFAULT_TOPOLOGY,
  loadTopology,
  PROCESSOR_KINDS,
  presetNames,
  renderMermaid,
  renderText,
  resolveTopologyRef,
} from "../topology/index.js";

export function registerTopology(program: Command): void {
  const topology = program
    .command("topology")
    .description("Topology files and presets: show one as text or Mermaid, list presets and processor kinds");
  topology
    .command("show")
    .description(
      "Check a topology file or preset (with the configuration's `nodes` overrides) and print its graph",
    )
    .argument("[topology]", `a topology file, or a preset (${presetNames().join(", ")})`, DEFAULT_TOPOLOGY)
    .addOption(
      new Option("--format <format>", "text or mermaid").choices(["text", "mermaid"]).default("text"),
    )
    .addHelpText(
      "after",
      "\nExamples:\n  spikemesh topology show                     # the default mesh\n  spikemesh topology show swarm --format mermaid > swarm.mmd\n  spikemesh topology show ./my-topology.yaml",
    )
    .action(async (ref: string, flags: { format: "text" | "mermaid" }, command: Command) => {
      await runCommand(command, async (ctx) => {
        const loaded = loadTopology(ref, {
          appId: ctx.config.appId,
          partitions: ctx.config.runner.partitions,
          nodes: ctx.config.nodes,
        });
        process.stdout.write(flags.format === "mermaid" ? renderMermaid(loaded) : renderText(loaded));
        return 0;
      });
    });
  topology
    .command("list")
    .description("List the presets in topologies/ and the processor kinds a topology file may use")
    .action(async (_flags: unknown, command: Command) => {
      await runCommand(command, async () => {
        const lines = ["presets:"];
        for (const name of presetNames())
          lines.push(`  ${name.padEnd(10)} ${resolveTopologyRef(name).shownAs}`);
        lines.push("processor kinds (processors[].kind):");
        for (const kind of Object.keys(PROCESSOR_KINDS)) lines.push(`  ${kind}`);
        lines.push("sections: tiers (escalation tiers), swarm (intake, conductor, experts)");
        process.stdout.write(`${lines.join("\n")}\n`);
        return 0;
      });
    });
}
