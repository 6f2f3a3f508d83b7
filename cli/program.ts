import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, Option } from "commander";
import { registerAgent } from "./commands/agent.js";
import { registerConfig } from "./commands/config.js";
import { registerConsume } from "./commands/consume.js";
import { registerDemo } from "./commands/demo.js";
import { registerFeedback } from "./commands/feedback.js";
import { registerNab } from "./commands/nab.js";
import { registerProduce } from "./commands/produce.js";
import { registerRecordings } from "./commands/recordings.js";
import { registerRegistry } from "./commands/registry.js";
import { registerRun } from "./commands/run.js";
import { registerServe } from "./commands/serve.js";
import { registerServeModel } from "./commands/serve-model.js";
import { registerTemplates } from "./commands/templates.js";
import { registerTopics } from "./commands/topics.js";
import { registerTopology } from "./commands/topology.js";
import { registerWhatIf } from "./commands/whatif.js";
import { registerWorker } from "./commands/worker.js";
import { packageRoot } from "./package-root.js";

/** The `spikemesh` command: global options here, one module per command under commands/. */
export function buildProgram(): Command {
  const { version } = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as {
    version: string;
  };
  const program = new Command("spikemesh")
    .description(
      "Event-streaming dataflow: SNN filters watch your streams and wake model tiers only when something changes",
    )
    .version(version)
    .showHelpAfterError()
    .option("-c, --config <file>", "configuration file (default: ./spikemesh.yaml when present)")
    .option("--data-dir <dir>", "embedded runtime data directory (default .spikemesh)")
    .addOption(
      new Option("--log-level <level>", "log level on stderr (default info)").choices([
        "fatal",
        "error",
        "warn",
        "info",
        "debug",
        "trace",
        "silent",
      ]),
    )
    .option(
      "--brokers <list>",
      "run on Kafka: bootstrap brokers host:port[,host:port...] (default: the embedded log)",
    )
    .option(
      "--registry <url>",
      "an external Confluent-compatible schema registry instead of the embedded one",
    )
    .addHelpText(
      "after",
      "\nConfiguration: defaults < spikemesh.yaml (or --config) < SPIKEMESH_* environment (SPIKEMESH_RUNNER__GUARANTEE=...) < flags.\nRun `spikemesh config print` to see the result.",
    );
  registerDemo(program);
  registerRun(program);
  registerProduce(program);
  registerAgent(program);
  registerConsume(program);
  registerTopics(program);
  registerTopology(program);
  registerRecordings(program);
  registerWhatIf(program);
  registerRegistry(program);
  registerConfig(program);
  registerNab(program);
  registerTemplates(program);
  registerServe(program);
  registerWorker(program);
  registerServeModel(program);
  registerFeedback(program);
  return program;
}
