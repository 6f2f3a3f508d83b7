import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** True when `command` runs (exit status 0) with `args`. */
export function runs(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

/**
 * Makes sure Debian's `prometheus` package (prometheus and promtool) is installed, installing it
 * with apt-get when it is missing: tests start the real server rather than skip. The package list
 * is refreshed only when the first install attempt fails.
 */
export function ensurePrometheus(): void {
  ensureDebianPackage(
    "prometheus",
    () => runs("promtool", ["--version"]) && runs("prometheus", ["--version"]),
  );
}

/** Installs a Debian package with apt-get unless `isInstalled()` already holds. */
export function ensureDebianPackage(name: string, isInstalled: () => boolean): void {
  if (isInstalled()) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () =>
    // Test files run in parallel: wait for another install's dpkg lock rather than fail on it.
    spawnSync(
      "apt-get",
      ["-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q", "--no-install-recommends", name],
      {
        env,
        encoding: "utf8",
      },
    );
  let r = install();
  if (r.status !== 0) {
    execFileSync("apt-get", ["-o", "DPkg::Lock::Timeout=300", "update", "-q"], { env, stdio: "ignore" });
    r = install();
  }
  if (r.status !== 0 || !isInstalled()) {
    throw new Error(`could not install the Debian package ${name}: ${r.stderr || r.error?.message}`);
  }
}

/** A free TCP port on 127.0.0.1 (bound and released, so a race is possible but unlikely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PrometheusServer {
  url: string;
  /** What the server wrote so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a real Prometheus server on a free port with `config` (YAML text) in `dir`, and resolves
 * once /-/ready answers. Stopped with SIGTERM, then SIGKILL after 5 s.
 */
export async function startPrometheus(
  dir: string,
  config: string,
  deadlineMs = 60_000,
): Promise<PrometheusServer> {
  mkdirSync(join(dir, "data"), { recursive: true });
  writeFileSync(join(dir, "prometheus.yml"), config);
  const port = await freePort();
  const child = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > until) {
      await stop();
      throw new Error(`prometheus not ready after ${deadlineMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, output: () => output, stop };
}

export interface PromSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

/** GET /api/v1/<path> with `params`; throws unless Prometheus answers status "success". */
export async function promApi<T>(
  base: string,
  path: string,
  params: Record<string, string> = {},
): Promise<T> {
  const url = new URL(`/api/v1/${path}`, base);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
  if (body.status !== "success")
    throw new Error(`${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
  return body.data;
}
