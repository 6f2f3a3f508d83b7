import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SCRIPT = resolve(import.meta.dirname, "../../../scripts/kafka.sh");

/** A local single-node broker started by scripts/kafka.sh. */
export interface LocalBroker {
  /** `127.0.0.1:port`. */
  bootstrap: string;
  port: number;
  /** `127.0.0.1:port` of the SASL_PLAINTEXT (SCRAM) listener, when started with `scramUsers`. */
  saslBootstrap?: string;
  /**
   * Stops the broker (SIGTERM, or SIGKILL with `kill`: a crash) and starts it again on the same
   * ports and data; resolves once it serves again.
   */
  restart(options?: { kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export interface LocalBrokerOptions {
  /** Whole start, download included. Default 300 000. */
  timeoutMs?: number;
  /** Extra server.properties (SPIKEMESH_KAFKA_PROPS). */
  props?: Record<string, string>;
  /** Users created at format time for a SASL_PLAINTEXT SCRAM-SHA-256/512 listener on a port of its own. */
  scramUsers?: { name: string; password: string }[];
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
function runScript(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn("bash", [SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
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
export async function startLocalBroker(options: LocalBrokerOptions = {}): Promise<LocalBroker> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const scram = options.scramUsers ?? [];
  const propsDir = await mkdtemp(join(tmpdir(), "spikemesh-broker-props-"));
  const env = { ...process.env };
  if (options.props !== undefined) {
    const file = join(propsDir, "extra.properties");
    const lines = Object.entries(options.props).map(([k, v]) => `${k}=${v}\n`);
    await writeFile(file, lines.join(""));
    env.SPIKEMESH_KAFKA_PROPS = file;
  }
  let lastError: unknown;
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      const [port, controllerPort, saslPort] = await freePorts(scram.length > 0 ? 3 : 2);
      try {
        const args = ["start", "--port", String(port), "--controller-port", String(controllerPort)];
        args.push("--timeout", "120", "--owner-pid", String(process.pid));
        if (saslPort !== undefined) args.push("--sasl-port", String(saslPort));
        for (const u of scram) args.push("--scram-user", `${u.name}:${u.password}`);
        const bootstrap = (await runScript(args, timeoutMs, env)).split("\n").pop() ?? `127.0.0.1:${port}`;
        return {
          bootstrap,
          port: port!,
          ...(saslPort !== undefined ? { saslBootstrap: `127.0.0.1:${saslPort}` } : {}),
          restart: (restartOptions = {}) =>
            runScript(
              [
                "restart",
                "--port",
                String(port),
                "--timeout",
                "120",
                ...(restartOptions.kill ? ["--kill"] : []),
              ],
              timeoutMs,
            ).then(() => undefined),
          stop: () =>
            runScript(["stop", "--port", String(port), "--timeout", "20"], 60_000).then(() => undefined),
        };
      } catch (err) {
        lastError = err;
      }
    }
  } finally {
    await rm(propsDir, { recursive: true, force: true });
  }
  throw lastError;
}
