import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { dispatcherTopology } from "../../cli/cluster/cluster-topology.js";
import { type ReasoningResult, recordTypes, type WorkerHeartbeat } from "../../schemas/index.js";
import { reasoningRequest } from "../helpers/reasoning-request.js";
import { tinyModelPath } from "../helpers/tiny-model.js";
import { tempDir } from "../unit/helpers/temp-dir.js";
import { CLI_MAIN, exited, ROOT } from "./helpers/child-process.js";
import { type KafkaHarness, kafkaHarness } from "./helpers/kafka-harness.js";

const SCRIPT = join(ROOT, "examples/slurm/gpu-workers.sbatch");
const TSX_LOADER = join(ROOT, "node_modules/tsx/dist/loader.mjs");

/**
 * SLURM is not installed here. `srun` is stood in for by a script that runs the task once, as task 0
 * of one node with SLURM's per-task variables; everything else is real: the batch script, the
 * spikemesh CLI it starts, the tiny GGUF model, the Kafka broker and the registry.
 */
const FAKE_SRUN = `#!/bin/bash
while [[ "\${1:-}" == --* ]]; do shift; done
export SLURM_LOCALID=0 SLURM_PROCID=0 SLURM_NODEID=0
exec "$@"
`;

let h: KafkaHarness;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let child: ChildProcess | undefined;
let tierTopics: string[] = [];
beforeEach(async () => {
  h = await kafkaHarness();
  tmp = await tempDir("spikemesh-slurm-");
});
afterEach(async () => {
  // The script runs in a process group of its own: on a failure, the worker under it goes too.
  if (child && child.exitCode === null && child.signalCode === null) {
    const gone = exited(child);
    process.kill(-child.pid!, "SIGKILL");
    await gone;
  }
  const left = (await h.admin.listTopics()).filter((t) => tierTopics.includes(t));
  if (left.length > 0) await h.admin.deleteTopics(left);
  await h.close();
  await tmp.remove();
});

it("the SLURM example passes bash -n", () => {
  execFileSync("bash", ["-n", SCRIPT]);
});

it("the SLURM example starts a worker that joins the cluster on the broker, answers with its model, and leaves on SIGTERM", async () => {
  const tier = h
    .name("slurm")
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-");
  tierTopics = [`escalations.${tier}`, `workers.${tier}.dispatch`, `workers.${tier}.assignments`];
  const appId = h.name("slurm-app");
  const bin = join(tmp.dir, "bin");
  execFileSync("mkdir", ["-p", bin]);
  writeFileSync(join(bin, "srun"), FAKE_SRUN);
  chmodSync(join(bin, "srun"), 0o755);
  const model = tinyModelPath();
  child = spawn("bash", [SCRIPT], {
    cwd: tmp.dir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      SLURM_JOB_ID: "4242",
      BROKERS: h.brokers,
      REGISTRY: h.registryUrl,
      MODEL_PATH: model,
      TIER: tier,
      MODEL: "tiny-deepseek",
      PARAMS: "7b",
      GPU_MEMORY_GB: "24",
      CONCURRENCY: "2",
      GPU_LAYERS: "0",
      METRICS_PORT_BASE: "0", // a free port: this machine is shared
      SPIKEMESH: `${process.execPath} --import ${TSX_LOADER} ${CLI_MAIN}`,
      SPIKEMESH_APP_ID: appId,
      SPIKEMESH_LOG_LEVEL: "warn",
      SPIKEMESH_WORKER__OPTIONS__BACKEND__MAX_THREADS: "1",
      SPIKEMESH_WORKER__OPTIONS__BACKEND__KIND: "llama",
    },
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const workerId = `slurm-4242-${hostname().split(".")[0]}-0`;
  await h
    .waitFor(
      "the worker to say it is ready",
      async () => (out.includes(`worker ${workerId} (tier ${tier}) ready`) ? true : undefined),
      90_000,
    )
    .catch((err: Error) => {
      throw new Error(`${err.message}\n${out}`);
    });

  const online = await h.readUntil("workers.heartbeats", (recs) =>
    recs.some((r) => r.key?.toString() === workerId),
  );
  const mine = online.find((r) => r.key?.toString() === workerId)!;
  const first = (await h.codec.decode(
    mine.topic,
    recordTypes.WorkerHeartbeat,
    mine.value!,
  )) as WorkerHeartbeat;
  expect(first).toMatchObject({
    workerId,
    tier,
    status: "ONLINE",
    model: "tiny-deepseek",
    paramsB: 7,
    memoryGb: 24,
    formats: ["gguf"],
    gpu: true,
    concurrency: 2,
    host: hostname(),
  });

  // The tier's dispatcher, here in the test process, sends it a request; the tiny model answers.
  const dispatcher = h.runner(
    dispatcherTopology({
      appId,
      partitions: 2,
      tiers: [{ tier, options: { tickMs: 100, waitForWorkerMs: 60_000 } }],
    }),
    { wallTickMs: 100 },
  );
  await dispatcher.start();
  const request = reasoningRequest({ id: `slurm-req-${tier}`, tier, deadline: Date.now() + 120_000 });
  await h.produceRaw([
    {
      topic: `escalations.${tier}`,
      key: Buffer.from(request.source),
      value: await h.codec.encode(`escalations.${tier}`, recordTypes.ReasoningRequest, request),
    },
  ]);
  const results = await h.readUntil(
    "reasoning.results",
    (recs) => recs.some((r) => r.value?.toString("latin1").includes(request.id) === true),
    { ms: 90_000 },
  );
  let answered: ReasoningResult | undefined;
  for (const r of results) {
    const result = (await h.codec.decode(r.topic, recordTypes.ReasoningResult, r.value!)) as ReasoningResult;
    if (result.id === request.id) answered = result;
  }
  expect(answered).toMatchObject({ id: request.id, tier, model: "tiny-deepseek", error: null });
  expect(answered!.tokens).toBeGreaterThan(0);

  // SLURM's SIGTERM before the time limit goes to the job step's tasks (not the batch shell): the
  // worker stops gracefully, says LEAVING, and the batch script ends with its exit code.
  const [task] = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/);
  process.kill(Number(task), "SIGTERM");
  expect(await exited(child), out).toEqual({ code: 0, signal: null });
  const leaving = await h.waitFor("a LEAVING heartbeat", async () => {
    const all = await h.readToEnd("workers.heartbeats");
    for (const r of all.filter((x) => x.key?.toString() === workerId)) {
      const hb = (await h.codec.decode(r.topic, recordTypes.WorkerHeartbeat, r.value!)) as WorkerHeartbeat;
      if (hb.status === "LEAVING") return hb;
    }
    return undefined;
  });
  expect(leaving.seq).toBeGreaterThan(first.seq);
}, 240_000);
