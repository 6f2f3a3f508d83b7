import type { Command } from "commander";
import { stringify } from "yaml";
import { runCommand } from "../command-context.js";
import { redactConfig } from "../config.js";

export function registerConfig(program: Command): void {
  const config = program.command("config").description("Inspect the configuration");
  config
    .command("print")
    .description(
      "Print the resolved configuration (defaults, spikemesh.yaml, SPIKEMESH_* environment, flags), secrets redacted",
    )
    .option("--json", "print JSON instead of YAML", false)
    .action(async (flags: { json: boolean }, command: Command) => {
      await runCommand(command, async (ctx) => {
        const resolved = redactConfig(ctx.config);
        process.stdout.write(flags.json ? `${JSON.stringify(resolved, null, 2)}\n` : stringify(resolved));
        return 0;
      });
    });
}
