import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";

const SCRIPT = resolve(import.meta.dirname, "../../../scripts/kafka.sh");

/** A local single-node broker started by scripts/kafka.sh. */
export interface LocalBroker {
  /** `127.0.0.1:port`. */
  bootstrap: string;
  port: number;
  stop(): Promise<void>;
}

/** Two ports the OS just handed out (closed again, so a small race with other processes remains). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((ok, fail) => {
          const server = createServer();
          server.once("error", fail);
          server.listen(0, "127.0.0.1", () => ok(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  return ports;
}

/** Runs scripts/kafka.sh, forwarding its progress lines to stderr; rejects on a non-zero exit or after `timeoutMs`. */
function runScript(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn("bash", [SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      fail(new Error(`scripts/kafka.sh ${args[0]} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      fail(err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) ok(stdout.trim());
      else fail(new Error(`scripts/kafka.sh ${args.join(" ")} exited with ${code}; see the lines above`));
    });
  });
}

/**
 * Starts a broker on free ports (downloading it first on a fresh machine); a watchdog in the
 * script stops it if this process dies without calling `stop()`.
 */
export async function startLocalBroker(options: { timeoutMs?: number } = {}): Promise<LocalBroker> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  let lastError: unknown;
  for (let attempt = 0; attempt < 2; attempt++) {
    const [port, controllerPort] = await freePorts(2);
    try {
      const args = ["start", "--port", String(port), "--controller-port", String(controllerPort)];
      args.push("--timeout", "120", "--owner-pid", String(process.pid));
      const bootstrap = (await runScript(args, timeoutMs)).split("\n").pop() ?? `127.0.0.1:${port}`;
      return {
        bootstrap,
        port: port!,
        stop: () =>
          runScript(["stop", "--port", String(port), "--timeout", "20"], 60_000).then(() => undefined),
      };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}
