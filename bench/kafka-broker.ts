/** A local single-node Kafka for the bench, started and stopped through scripts/kafka.sh. */
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { packageRoot } from "../cli/package-root.js";

// From the package root, so it resolves from bench/ (tsx) and from dist/bench/ (npm run bench) alike.
const SCRIPT = join(packageRoot(), "scripts/kafka.sh");

export interface BenchBroker {
  bootstrap: string;
  version: string;
  stop(): Promise<void>;
}

/** Why the Kafka bench cannot run here (no Java), or null when it can. */
export function kafkaUnavailableReason(): string | null {
  const java = spawnSync("java", ["-version"], { stdio: "ignore" });
  if (java.error !== undefined || java.status !== 0) {
    return "java not found on PATH: the Kafka cases need a local broker (install a Java 17+ runtime, e.g. openjdk-17-jre-headless)";
  }
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

function runScript(args: string[]): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn("bash", [SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    child.once("error", fail);
    child.once("exit", (code) => {
      if (code === 0) ok(stdout.trim());
      else fail(new Error(`scripts/kafka.sh ${args.join(" ")} exited with ${code}; see the lines above`));
    });
  });
}

/**
 * Starts a broker on free ports (fetching it from Maven Central on first use); a watchdog in the
 * script stops it if the bench dies without calling `stop()`.
 */
export async function startBenchBroker(): Promise<BenchBroker> {
  const port = await freePort();
  const controllerPort = await freePort();
  const args = ["start", "--port", String(port), "--controller-port", String(controllerPort)];
  const out = await runScript([...args, "--timeout", "120", "--owner-pid", String(process.pid)]);
  return {
    bootstrap: out.split("\n").pop() ?? `127.0.0.1:${port}`,
    version: process.env.SPIKEMESH_KAFKA_VERSION ?? "3.9.2 (scripts/kafka.sh default)",
    stop: () => runScript(["stop", "--port", String(port), "--timeout", "30"]).then(() => undefined),
  };
}
