/**
 * A runner in its own process, for the signal test in runner-shutdown.test.ts (not a test itself):
 *   node --import tsx test/unit/runner-child.ts <logDir> <registryUrl> <gateSeq>
 * Runs the echo topology (appId "app", in → out) on the embedded log in `logDir`. When it reaches
 * the sample whose value is `gateSeq` it tells the parent "in-flight" over IPC and waits for "go".
 * SIGTERM/SIGINT stop the runner gracefully; the process must then exit 0 on its own.
 *
 * streams/ installs no signal handler (the CLI does); this is the minimal one the CLI needs.
 */
import { EmbeddedTransport } from "../../streams/embedded/index.js";
import { silentLogger } from "../../streams/logger.js";
import { RegistryCodec, RegistrySerde } from "../../streams/serde/index.js";
import { TopologyRunner } from "../../streams/topology/runner.js";
import { deferred, echoSpec } from "./runner-harness.js";

const [logDir, registryUrl, gateSeqText] = process.argv.slice(2);
if (!logDir || !registryUrl || !gateSeqText || !process.send) {
  console.error(
    "usage: node --import tsx runner-child.ts <logDir> <registryUrl> <gateSeq> (with an IPC channel)",
  );
  process.exit(2);
}
const send = (message: string): void => {
  process.send?.(message);
};
const gateSeq = Number(gateSeqText);
const gate = deferred();
process.on("message", (message) => {
  if (message === "go") gate.resolve();
});

const transport = new EmbeddedTransport({ dataDir: logDir });
const runner = new TopologyRunner(
  {
    appId: "app",
    nodes: [
      {
        spec: echoSpec(async (rec) => {
          if (rec.value.value !== gateSeq) return;
          send("in-flight");
          await gate.promise;
        }),
        input: "in",
        outputs: { out: "out" },
      },
    ],
  },
  {
    transport,
    codec: new RegistryCodec(new RegistrySerde({ url: registryUrl })),
    logger: silentLogger(),
    maxBatchRecords: 8,
  },
);

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  send(`stopping ${signal}`);
  try {
    await runner.stop();
    await transport.close();
    send("stopped");
    process.disconnect();
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
}
process.once("SIGTERM", (signal) => void shutdown(signal));
process.once("SIGINT", (signal) => void shutdown(signal));

runner.crashed.catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
await runner.start();
send("started");
