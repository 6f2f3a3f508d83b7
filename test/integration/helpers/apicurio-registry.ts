import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";

const SCRIPT = resolve(import.meta.dirname, "../../../scripts/registry-apicurio.sh");

/** Apicurio Registry started by scripts/registry-apicurio.sh: an independent Confluent-compatible registry. */
export interface LocalApicurio {
  /** Base URL of its Confluent-compatible API, `http://127.0.0.1:PORT/apis/ccompat/v7`. */
  url: string;
  stop(): Promise<void>;
}

/** A port the OS just handed out (closed again, so a small race with other processes remains). */
function freePort(): Promise<number> {
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

/** Runs the script, forwarding its progress lines to stderr; rejects on a non-zero exit or after `timeoutMs`. */
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
      fail(new Error(`scripts/registry-apicurio.sh ${args[0]} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      fail(err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) ok(stdout.trim());
      else
        fail(
          new Error(
            `scripts/registry-apicurio.sh ${args.join(" ")} exited with ${code}; see the lines above`,
          ),
        );
    });
  });
}

/**
 * Starts Apicurio Registry on a free port (downloading it first on a fresh machine); a watchdog in
 * the script stops it if this process dies without calling `stop()`. `timeoutMs` bounds the whole
 * start, download included (default 300 000).
 */
export async function startApicurio(timeoutMs = 300_000): Promise<LocalApicurio> {
  const port = await freePort();
  const args = ["start", "--port", String(port), "--timeout", "150", "--owner-pid", String(process.pid)];
  const url = (await runScript(args, timeoutMs)).split("\n").pop() ?? "";
  if (!url.startsWith("http://127.0.0.1:"))
    throw new Error(`scripts/registry-apicurio.sh printed no URL: ${url}`);
  return {
    url,
    stop: () => runScript(["stop", "--port", String(port), "--timeout", "20"], 60_000).then(() => undefined),
  };
}
