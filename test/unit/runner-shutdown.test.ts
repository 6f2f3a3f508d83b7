import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Topology } from "../../streams/topology/topology.js";
import {
  deferred,
  type EchoHook,
  echoSpec,
  type RunnerHarness,
  runnerHarness,
  sample,
  totalCommitted,
  within,
} from "./runner-harness.js";

const N = 60;
const GATE_SEQ = 20;

function topology(hook?: EchoHook): Topology {
  return { appId: "app", nodes: [{ spec: echoSpec(hook), input: "in", outputs: { out: "out" } }] };
}

/** After a stop, every committed record has its output and nothing beyond the commit has one. */
async function expectCommittedMatchesOutputs(h: RunnerHarness): Promise<number> {
  const committed = totalCommitted(await h.committed("app.echo", "in"));
  const seqs = await h.seqs(await h.readAll("out"));
  expect(seqs).toEqual(Array.from({ length: committed }, (_, i) => i));
  return committed;
}

/** Restarts the topology in this process and checks the run ends with every record exactly once. */
async function finishAndCheck(h: RunnerHarness, committedBefore: number): Promise<void> {
  let processed = 0;
  const runner = h.runner(
    topology(() => {
      processed++;
    }),
  );
  await runner.start();
  await h.waitForRecords("out", N);
  await runner.stop();
  expect(processed).toBe(N - committedBefore);
  expect(await expectCommittedMatchesOutputs(h)).toBe(N);
}

describe("TopologyRunner graceful shutdown", () => {
  let h: RunnerHarness;
  beforeEach(async () => {
    h = await runnerHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("stop() finishes the batch in flight, commits it, and a restart continues without loss or duplicates", async () => {
    const gate = deferred();
    const gateReached = deferred();
    const first = h.runner(
      topology(async (rec) => {
        if (rec.value.value !== GATE_SEQ) return;
        gateReached.resolve();
        await gate.promise;
      }),
    );
    await h.createTopics(topology());
    await h.produce(
      "in",
      Array.from({ length: N }, (_, i) => sample(i)),
    );
    await first.start();
    await within(gateReached.promise, "the batch holding sample 20 to be in flight");

    let isStopped = false;
    const stopping = first.stop().then(() => {
      isStopped = true;
    });
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(isStopped).toBe(false);
    gate.resolve();
    await within(stopping, "stop() to finish");

    const committed = await expectCommittedMatchesOutputs(h);
    // The batch holding sample 20 was finished; records queued behind it were left for the restart.
    expect(committed).toBeGreaterThan(GATE_SEQ);
    expect(committed).toBeLessThan(N);
    await finishAndCheck(h, committed);
  });
});

describe("TopologyRunner in a child process", () => {
  let h: RunnerHarness;
  let child: ChildProcess | undefined;
  beforeEach(async () => {
    h = await runnerHarness();
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await h.close();
  });

  it("exits 0 on SIGTERM after finishing and committing the batch in flight", async () => {
    await h.createTopics(topology());
    await h.produce(
      "in",
      Array.from({ length: N }, (_, i) => sample(i)),
    );
    // The child opens the data dir itself; the log allows one process at a time.
    await h.transport.close();

    const script = fileURLToPath(new URL("./runner-child.ts", import.meta.url));
    const proc = spawn(
      process.execPath,
      ["--import", "tsx", script, h.logDir, h.registryUrl, String(GATE_SEQ)],
      {
        stdio: ["ignore", "ignore", "pipe", "ipc"],
      },
    );
    child = proc;
    let stderr = "";
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const messages: string[] = [];
    const waiters: { message: string; resolve(): void }[] = [];
    proc.on("message", (message) => {
      messages.push(String(message));
      for (const w of waiters) if (w.message === message) w.resolve();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.on("exit", (code, signal) => resolve({ code, signal }));
    });
    const message = (wanted: string): Promise<void> => {
      const d = deferred();
      if (messages.includes(wanted)) d.resolve();
      waiters.push({ message: wanted, resolve: () => d.resolve() });
      return within(
        Promise.race([
          d.promise,
          exited.then(({ code }) => {
            throw new Error(`child exited (${code}) before "${wanted}": ${stderr}`);
          }),
        ]),
        `the child to say "${wanted}"`,
        30_000,
      );
    };

    await message("in-flight");
    proc.kill("SIGTERM");
    await message("stopping SIGTERM");
    proc.send("go");
    const { code, signal } = await within(exited, "the child to exit");
    expect({ code, signal }, `child stderr: ${stderr}`).toEqual({ code: 0, signal: null });
    expect(messages).toContain("started");
    expect(messages.filter((m) => m !== "started")).toEqual(["in-flight", "stopping SIGTERM", "stopped"]);

    await h.reopen();
    const committed = await expectCommittedMatchesOutputs(h);
    expect(committed).toBeGreaterThan(GATE_SEQ);
    await finishAndCheck(h, committed);
  });
});
