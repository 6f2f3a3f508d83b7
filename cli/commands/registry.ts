import { join } from "node:path";
import type { Command } from "commander";
import { requireKeysOffLoopback } from "../../streams/http/api-keys.js";
import { SchemaRegistryServer } from "../../streams/serde/index.js";
import { runCommand } from "../command-context.js";
import { intArg } from "./demo.js";

export function registerRegistry(program: Command): void {
  program
    .command("registry")
    .description(
      "Serve the embedded Confluent-compatible schema registry on its own (for the Kafka runtime or other tools)",
    )
    .option("--port <n>", "TCP port", intArg(0, 65_535), 8081)
    .option("--host <address>", "interface to listen on", "127.0.0.1")
    .addHelpText(
      "after",
      "\nSchemas persist in <dataDir>/registry. Writes need a key from registry.apiKeys (SPIKEMESH_REGISTRY__API_KEYS=k1,k2) when set,\nand must be set to listen beyond 127.0.0.1. Ctrl-C or SIGTERM stops it.",
    )
    .action(async (flags: { port: number; host: string }, command: Command) => {
      await runCommand(command, async (ctx) => {
        const apiKeys = ctx.config.registry.apiKeys;
        requireKeysOffLoopback(flags.host, apiKeys, "registry.apiKeys");
        const server = new SchemaRegistryServer({
          dataDir: join(ctx.config.dataDir, "registry"),
          port: flags.port,
          host: flags.host,
          log: ctx.log.child({ component: "registry" }),
          apiKeys,
        });
        const url = await server.start();
        process.stdout.write(`schema registry listening on ${url}\n`);
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        await server.close();
        return 0;
      });
    });
}
