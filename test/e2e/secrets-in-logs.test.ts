import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { tempDir } from "../unit/helpers/temp-dir.js";
import { runCli } from "./run-cli.js";

/**
 * Secrets never reach the output: the real `spikemesh` command runs at trace level (everything
 * logged; debug is the most detailed level in use) with API keys, a SASL password, a TLS private key and a model backend's API key
 * configured, through commands that use them (the demo with an authenticated embedded registry and a
 * failing keyed model backend, a Kafka connection attempt with SASL_SSL, the keyed feedback endpoint
 * taking good and bad requests, `config print`), and every byte of stdout and stderr is searched.
 */
const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

const SECRETS = {
  registryKey: "reg-key-SECRET-7f3a9c1e5b2d4f60",
  feedbackKey: "fb-key-SECRET-0a1b2c3d4e5f6a7b",
  serveModelKey: "sm-key-SECRET-99887766554433aa",
  serveKey: "serve-key-SECRET-1234abcd5678ef90",
  saslPassword: "sasl-pw-SECRET-d4c3b2a1f0e9",
  backendKey: "sk-backend-SECRET-5e6f7a8b9c0d1e2f",
};

let tmp: Awaited<ReturnType<typeof tempDir>>;
let configFile: string;
/** Every string that must never be printed: the secrets, their Basic-auth encodings, the PEM key's lines. */
let forbidden: string[];
let closedPort: number;

async function freePortThenClosed(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function expectNoSecrets(output: string, what: string): void {
  const leaked = forbidden.filter((s) => output.includes(s));
  expect(leaked, `${what} printed a secret`).toEqual([]);
}

beforeAll(async () => {
  tmp = await tempDir("spikemesh-secrets-");
  closedPort = await freePortThenClosed();
  const keyPath = join(tmp.dir, "client.key");
  const certPath = join(tmp.dir, "client.crt");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      "/CN=spikemesh-test-client",
    ],
    { stdio: "ignore" },
  );
  const pemLines = readFileSync(keyPath, "utf8")
    .split("\n")
    .filter((l) => l.length > 40 && !l.startsWith("-----"));
  forbidden = [
    ...Object.values(SECRETS),
    Buffer.from(`spikemesh:${SECRETS.registryKey}`).toString("base64"),
    ...pemLines,
  ];
  expect(pemLines.length).toBeGreaterThan(10);
  configFile = join(tmp.dir, "spikemesh.yaml");
  writeFileSync(
    configFile,
    stringify({
      logLevel: "trace",
      registry: { apiKeys: [SECRETS.registryKey] },
      feedback: { apiKeys: [SECRETS.feedbackKey] },
      serveModel: { apiKeys: [SECRETS.serveModelKey] },
      serve: { apiKeys: [SECRETS.serveKey] },
      nodes: {
        "tier-phi2": {
          backend: {
            kind: "http",
            baseUrl: `http://127.0.0.1:${closedPort}/v1`,
            model: "m",
            apiKey: SECRETS.backendKey,
          },
        },
      },
    }),
  );
  // Kafka settings live in a second file, for the commands that should try Kafka.
  writeFileSync(
    join(tmp.dir, "kafka.yaml"),
    stringify({
      ...(await import("yaml")).parse(readFileSync(configFile, "utf8")),
      kafka: {
        brokers: [`127.0.0.1:${closedPort}`],
        ssl: { ca: certPath, cert: certPath, key: keyPath },
        sasl: { mechanism: "scram-sha-512", username: "alice", password: SECRETS.saslPassword },
        retries: 0,
        connectionTimeoutMs: 1000,
        requestTimeoutMs: 2000,
      },
    }),
  );
});

afterAll(async () => {
  await tmp?.remove();
});

describe("secrets never appear in logs or printed config", () => {
  it("config print shows every secret as [redacted], in YAML and JSON", async () => {
    for (const args of [
      ["config", "print"],
      ["config", "print", "--json"],
    ]) {
      const res = await runCli(["--config", join(tmp.dir, "kafka.yaml"), ...args], { cwd: tmp.dir });
      expect(res.code, res.stderr).toBe(0);
      expectNoSecrets(res.stdout + res.stderr, args.join(" "));
      expect(res.stdout).toContain("[redacted]");
      // The rest is still there: the printout is the config, not an empty shell.
      expect(res.stdout).toContain("scram-sha-512");
      expect(res.stdout).toContain(`127.0.0.1:${closedPort}`);
    }
  });

  it("the demo at trace level, with a keyed registry and a keyed (unreachable) model backend, prints none", async () => {
    const res = await runCli(["--config", configFile, "demo", "--duration", "30m", "--hosts", "3"], {
      cwd: tmp.dir,
      timeoutMs: 150_000,
    });
    const output = res.stdout + res.stderr;
    expect(res.code, output.slice(-2000)).toBe(0);
    // Debug logging really was on (nothing logs at trace), and the keyed registry and backend were used.
    expect(output.match(/"level":20/g)?.length ?? 0).toBeGreaterThan(10);
    expect(output).toContain("embedded schema registry listening");
    expect(output).toMatch(new RegExp(`127\\.0\\.0\\.1:${closedPort}`));
    expectNoSecrets(output, "demo");
  }, 180_000);

  it("a Kafka connection attempt with SASL over TLS, failing, at trace level prints none", async () => {
    const res = await runCli(["--config", join(tmp.dir, "kafka.yaml"), "topics", "list"], {
      cwd: tmp.dir,
      timeoutMs: 60_000,
    });
    const output = res.stdout + res.stderr;
    expect(res.code, output.slice(-2000)).toBe(1);
    expect(output).toMatch(new RegExp(`127\\.0\\.0\\.1:${closedPort}`));
    expectNoSecrets(output, "topics list on Kafka");
  });

  it("the keyed feedback endpoint at trace level, taking good and bad keys, prints none", async () => {
    const child = spawn(
      process.execPath,
      ["--import", TSX, MAIN, "--config", configFile, "feedback", "--serve", "--port", "0"],
      {
        cwd: tmp.dir,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL within 60 s: ${output}`)), 60_000);
        child.stdout.setEncoding("utf8").on("data", (d: string) => {
          output += d;
          const m = /feedback endpoint on (http:\/\/\S+)\/feedback/.exec(output);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const post = (key: string) =>
        fetch(`${url}/feedback`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: JSON.stringify({ requestId: "r-1", judgement: "useful" }),
        });
      expect((await post(`${SECRETS.feedbackKey}x`)).status).toBe(401);
      expect((await post(SECRETS.feedbackKey)).status).toBe(404);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(output).toMatch(/"level":20/);
    expectNoSecrets(output, "feedback --serve");
  });
});
