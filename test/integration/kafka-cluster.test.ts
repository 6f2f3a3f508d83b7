import type { ChildProcess } from "node:child_process";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, expect, it } from "vitest";
import { readSse, type SseEvent } from "../helpers/sse.js";
import { killIfRunning } from "../unit/helpers/crash-harness.js";
import { type Child, CLI_MAIN, exited, startChild } from "./helpers/child-process.js";
import { type KafkaHarness, kafkaHarness } from "./helpers/kafka-harness.js";

const KEY = "cluster-test-key-0123456789";

/** An OpenAI-compatible endpoint that takes requests and never answers: a hung GPU server. */
async function stalledModelServer(): Promise<{
  url: string;
  received: () => number;
  close(): Promise<void>;
}> {
  const held: ServerResponse[] = [];
  let received = 0;
  const server: Server = createServer((req, res) => {
    received++;
    req.resume();
    held.push(res);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    received: () => received,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

let h: KafkaHarness;
let children: ChildProcess[] = [];
let stalled: Awaited<ReturnType<typeof stalledModelServer>> | undefined;
/** Topics named after the test's tier, which the harness does not know to delete. */
let tierTopics: string[] = [];
beforeEach(async () => {
  h = await kafkaHarness();
});
afterEach(async () => {
  for (const child of children) await killIfRunning(child);
  children = [];
  await stalled?.close();
  const left = (await h.admin.listTopics()).filter((t) => tierTopics.includes(t));
  if (left.length > 0) await h.admin.deleteTopics(left);
  tierTopics = [];
  await h.close();
});

it("a worker cluster on the real broker: jobs go to capable workers, a SIGKILLed worker's pending jobs are reassigned and every job finishes", async () => {
  // A tier and app of this test's own, so its topics and groups are its own on the shared broker.
  const tier = h
    .name("gpu")
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-");
  const appId = h.name("cluster");
  tierTopics = [`escalations.${tier}`, `workers.${tier}.dispatch`, `workers.${tier}.assignments`];
  stalled = await stalledModelServer();
  const env = {
    SPIKEMESH_APP_ID: appId,
    SPIKEMESH_RUNNER__PARTITIONS: "4",
    SPIKEMESH_SERVE__API_KEYS: KEY,
    SPIKEMESH_SERVE__TIERS: `rules,${tier}`,
    SPIKEMESH_WORKER__DISPATCHER__TICK_MS: "100",
    SPIKEMESH_WORKER__DISPATCHER__MISSED_HEARTBEATS: "3",
    SPIKEMESH_WORKER__DISPATCHER__WAIT_FOR_WORKER_MS: "8000",
  };
  const common = ["--brokers", h.brokers, "--registry", h.registryUrl];
  const spawnCli = (args: string[], extraEnv: Record<string, string> = {}): Child => {
    const child = startChild(CLI_MAIN, [...args, ...common], { ...env, ...extraEnv });
    children.push(child.process);
    return child;
  };
  const worker = (id: string, capabilities: string, backend: string[], model?: string) =>
    spawnCli(
      [
        "worker",
        "--tier",
        tier,
        "--id",
        id,
        "--capabilities",
        capabilities,
        "--heartbeat-ms",
        "300",
        "--log-level",
        "warn",
        ...backend,
      ],
      model === undefined
        ? {}
        : {
            SPIKEMESH_WORKER__OPTIONS__BACKEND__KIND: "rules",
            SPIKEMESH_WORKER__OPTIONS__BACKEND__MODEL: model,
          },
    );

  const serve = spawnCli([
    "serve",
    "--port",
    "0",
    "--dispatch",
    tier,
    "--metrics-port",
    "0",
    "--metrics-host",
    "127.0.0.1",
    "--log-level",
    "info",
  ]);
  const url = /serving on (http:\/\/\S+)/.exec(await serve.line(/^serving on /, 90_000))![1]!;
  const metricsUrl = /"url":"(http:\/\/[^"]+\/metrics)"/.exec(serve.stderr())?.[1];
  expect(metricsUrl, serve.output()).toBeDefined();
  const headers = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
  const submit = async (job: Record<string, unknown>): Promise<string> => {
    const res = await fetch(`${url}/jobs`, {
      method: "POST",
      headers,
      body: JSON.stringify({ tier, ...job }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    return ((await res.json()) as { jobId: string }).jobId;
  };
  const follow = (jobId: string, until?: (events: SseEvent[]) => boolean) =>
    readSse(`${url}/jobs/${jobId}/events`, { authorization: `Bearer ${KEY}` }, 90_000, until);
  const assignedTo = (events: SseEvent[]) =>
    events.filter((e) => e.event === "assigned").map((e) => (e.data as { workerId: string }).workerId);
  const answer = (events: SseEvent[]) =>
    events.find((e) => e.event === "answered")?.data as
      | { ok: boolean; result: { model: string; error: string | null } }
      | undefined;
  // A bad key is refused on Kafka too.
  expect(
    (await fetch(`${url}/jobs/x/events`, { headers: { authorization: "Bearer nope-nope-nope-nope" } }))
      .status,
  ).toBe(401);

  // 1. Only the big GPU worker is up, and its model server hangs: four GPU jobs go to it and stay.
  const big = worker("w-big", "model=deepseek,params=70b,memoryGb=48,formats=gguf,gpu=true,concurrency=2", [
    "--backend-url",
    stalled.url,
  ]);
  await big.line(/^worker w-big .* ready/, 90_000);
  const stuck = await Promise.all(
    [1, 2, 3, 4].map((i) => submit({ prompt: `gpu job ${i}`, requires: { gpu: true } })),
  );
  for (const id of stuck) {
    expect(assignedTo(await follow(id, (e) => assignedTo(e).length > 0))).toEqual(["w-big"]);
  }
  await h.waitFor("the hung model server to get a request", async () =>
    stalled!.received() > 0 ? true : undefined,
  );

  // 2. A smaller GPU worker and a CPU worker join; new jobs go to whoever can run them.
  const small = worker(
    "w-small",
    "model=deepseek,params=7b,memoryGb=24,gpu=true,concurrency=2",
    [],
    "rules-on-w-small",
  );
  const cpu = worker(
    "w-cpu",
    "model=phi2,params=2.7b,memoryGb=8,gpu=false,concurrency=2",
    [],
    "rules-on-w-cpu",
  );
  await small.line(/^worker w-small .* ready/, 90_000);
  await cpu.line(/^worker w-cpu .* ready/, 90_000);
  const phi = await submit({ prompt: "small question", requires: { model: "phi2" } });
  const mid = await submit({
    data: { host: "web-1" },
    requires: { gpu: true, minMemoryGb: 16, format: "gguf" },
  });
  const phiEvents = await follow(phi);
  expect(assignedTo(phiEvents)).toEqual(["w-cpu"]);
  expect(answer(phiEvents)).toMatchObject({ ok: true, result: { model: "rules-on-w-cpu", error: null } });
  const midEvents = await follow(mid);
  expect(assignedTo(midEvents)).toEqual(["w-small"]);
  expect(answer(midEvents)).toMatchObject({ ok: true, result: { model: "rules-on-w-small" } });

  // 3. The big worker dies without a word. Its four jobs move to the other GPU worker and finish.
  big.process.kill("SIGKILL");
  expect(await exited(big.process)).toEqual({ code: null, signal: "SIGKILL" });
  for (const id of stuck) {
    const events = await follow(id);
    expect(events.map((e) => e.event)).toEqual(["queued", "assigned", "assigned", "answered"]);
    expect(assignedTo(events)).toEqual(["w-big", "w-small"]);
    expect(answer(events)).toMatchObject({ ok: true, result: { model: "rules-on-w-small", error: null } });
  }

  // 4. A job only the dead worker could run ends with an error that says so.
  const huge = await follow(await submit({ prompt: "needs the big one", requires: { minMemoryGb: 40 } }));
  expect(assignedTo(huge)).toEqual([]);
  expect(answer(huge)?.ok).toBe(false);
  expect(answer(huge)?.result.error).toMatch(
    /^no live worker of tier .* can run it \(needs memoryGb>=40\): w-cpu: 8 GB < 40 GB; w-small: 24 GB < 40 GB \(waited \d+ ms\)$/,
  );

  // Per-worker metrics of the dispatcher, scraped from the serve process.
  const text = await (await fetch(metricsUrl!)).text();
  const value = (name: string, worker: string) =>
    Number(new RegExp(`^${name}\\{tier="${tier}",worker="${worker}"\\} (\\S+)$`, "m").exec(text)?.[1]);
  expect(value("spikemesh_worker_dispatcher_reassigned_total", "w-big")).toBe(4);
  expect(value("spikemesh_worker_dispatcher_assigned_total", "w-small")).toBe(5);
  expect(value("spikemesh_worker_dispatcher_answered_total", "w-small")).toBe(5);
  expect(value("spikemesh_worker_dispatcher_in_flight", "w-big")).toBe(0);
  expect(value("spikemesh_worker_dispatcher_heartbeat_age_seconds", "w-big")).toBeGreaterThan(0.9);
  expect(value("spikemesh_worker_dispatcher_heartbeat_age_seconds", "w-cpu")).toBeLessThan(5);

  for (const child of [small, cpu, serve]) {
    child.process.kill("SIGTERM");
    expect(await exited(child.process), child.output()).toEqual({ code: 0, signal: null });
  }
}, 300_000);
