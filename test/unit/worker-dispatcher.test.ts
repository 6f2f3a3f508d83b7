import type { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  canRun,
  createWorkerDispatcherSpec,
  DISPATCHER_MODEL,
  parseParamsB,
  requirementsOf,
  unmetRequirements,
  WORKER_HEADER,
  type WorkerCapabilities,
  type WorkerDispatcherOptions,
  type WorkerDispatcherOutputs,
  WorkerRoster,
} from "../../processors/worker-dispatcher/index.js";
import type { DispatchEvent, ReasoningRequest, WorkerHeartbeat } from "../../schemas/index.js";
import { ManualClock, ProcessorTestDriver } from "../../streams/index.js";
import { reasoningRequest } from "../helpers/reasoning-request.js";

const T0 = 1_800_000_000_000;
const INTERVAL = 1_000;

function heartbeat(workerId: string, over: Partial<WorkerHeartbeat> = {}): WorkerHeartbeat {
  return {
    workerId,
    tier: "deepseek",
    ts: T0,
    seq: 1,
    status: "ONLINE",
    intervalMs: INTERVAL,
    model: "deepseek",
    paramsB: 7,
    memoryGb: 16,
    formats: ["gguf"],
    gpu: true,
    concurrency: 2,
    inFlight: 0,
    answered: 0,
    host: "node",
    ...over,
  };
}

const caps = (over: Partial<WorkerCapabilities> = {}): WorkerCapabilities => ({
  model: "phi2",
  paramsB: 2.7,
  memoryGb: 8,
  formats: ["gguf"],
  gpu: false,
  concurrency: 4,
  ...over,
});

describe("capability matching", () => {
  it("parses model sizes", () => {
    expect(parseParamsB("2.7b")).toBe(2.7);
    expect(parseParamsB("70B")).toBe(70);
    expect(parseParamsB("350m")).toBeCloseTo(0.35);
    expect(parseParamsB(13)).toBe(13);
    expect(parseParamsB("big")).toBeUndefined();
    expect(parseParamsB(-1)).toBeUndefined();
  });

  it("a worker runs a request only when every requirement is met, and says which are not", () => {
    const cpu = caps();
    const gpu = caps({ model: "deepseek", paramsB: 7, memoryGb: 24, gpu: true, formats: ["gguf", "onnx"] });
    expect(canRun(cpu, {})).toBe(true);
    expect(canRun(cpu, { model: "PHI2" })).toBe(true);
    expect(unmetRequirements(cpu, { model: "deepseek" })).toEqual(["model phi2, not deepseek"]);
    expect(unmetRequirements(cpu, { gpu: true, minMemoryGb: 20 })).toEqual(["8 GB < 20 GB", "no GPU"]);
    expect(canRun(cpu, { gpu: false })).toBe(true);
    expect(canRun(gpu, { gpu: true, minMemoryGb: 20, format: "onnx", minParamsB: 7 })).toBe(true);
    expect(unmetRequirements(gpu, { minParamsB: 70, format: "safetensors" })).toEqual([
      "7B params < 70B",
      "no safetensors format (has gguf|onnx)",
    ]);
  });

  it("reads `requires` from a request's context, naming a bad field", () => {
    expect(requirementsOf("")).toEqual({ ok: true, requires: {} });
    expect(requirementsOf("not json")).toEqual({ ok: true, requires: {} });
    expect(requirementsOf('{"requires":{"gpu":true,"minMemoryGb":20}}')).toEqual({
      ok: true,
      requires: { gpu: true, minMemoryGb: 20 },
    });
    const bad = requirementsOf('{"requires":{"minMemoryGb":"lots"}}');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/^context\.requires\.minMemoryGb: /);
    const unknown = requirementsOf('{"requires":{"vram":8}}');
    expect(!unknown.ok && unknown.reason).toMatch(/vram/);
  });
});

describe("WorkerRoster", () => {
  it("drops a worker after N missed intervals on the dispatcher's clock, and takes it back on a new heartbeat", () => {
    const roster = new WorkerRoster("deepseek", 3);
    const table = new Map([["w1", heartbeat("w1", { ts: T0 })]]);
    expect(roster.observe(table, T0)).toEqual({ joined: ["w1"], dropped: [] });
    // A new heartbeat whose ts is far off the dispatcher's clock still counts from when it was seen.
    table.set("w1", heartbeat("w1", { seq: 2, ts: T0 - 3_600_000 }));
    expect(roster.observe(table, T0 + 1_000).dropped).toEqual([]);
    expect(roster.observe(table, T0 + 4_000)).toEqual({ joined: [], dropped: [] });
    expect(roster.ageMs("w1", T0 + 4_000)).toBe(3_000);
    expect(roster.observe(table, T0 + 4_001)).toEqual({ joined: [], dropped: ["w1"] });
    expect(roster.live()).toEqual([]);
    expect(roster.observe(table, T0 + 9_000).joined).toEqual([]);
    table.set("w1", heartbeat("w1", { seq: 3, ts: T0 + 9_000 }));
    expect(roster.observe(table, T0 + 9_000)).toEqual({ joined: ["w1"], dropped: [] });
  });

  it("ignores other tiers, drops LEAVING workers and workers that left the table at once", () => {
    const roster = new WorkerRoster("deepseek", 3);
    const table = new Map([
      ["w1", heartbeat("w1")],
      ["w2", heartbeat("w2")],
      ["p1", heartbeat("p1", { tier: "phi2" })],
    ]);
    expect(roster.observe(table, T0).joined).toEqual(["w1", "w2"]);
    table.set("w1", heartbeat("w1", { seq: 2, status: "LEAVING" }));
    table.delete("w2");
    expect(roster.observe(table, T0 + 10).dropped.sort()).toEqual(["w1", "w2"]);
    expect(roster.all().map((w) => w.id)).toEqual(["w1"]);
  });

  it("a heartbeat already stale when the roster starts is not live", () => {
    const roster = new WorkerRoster("deepseek", 3);
    const table = new Map([["old", heartbeat("old", { ts: T0 - 60_000 })]]);
    expect(roster.observe(table, T0)).toEqual({ joined: [], dropped: [] });
    expect(roster.isLive("old")).toBe(false);
  });
});

type Driver = ProcessorTestDriver<DispatchEvent, WorkerDispatcherOutputs, WorkerDispatcherOptions>;
const drivers: Driver[] = [];

afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function dispatcher(options: Partial<WorkerDispatcherOptions> = {}, spec = createWorkerDispatcherSpec()) {
  const clock = new ManualClock(T0);
  const d = new ProcessorTestDriver(
    spec,
    { tier: "deepseek", missedHeartbeats: 3, waitForWorkerMs: 5_000, tickMs: 100, ...options },
    { clock },
  );
  drivers.push(d);
  return { d, clock, spec };
}

function job(id: string, requires?: Record<string, unknown>, over: Partial<ReasoningRequest> = {}) {
  const request = reasoningRequest({
    id,
    tier: "deepseek",
    deadline: T0 + 600_000,
    context: JSON.stringify({ kind: "job", ...(requires ? { requires } : {}) }),
    ...over,
  });
  const value: DispatchEvent = {
    kind: "REQUEST",
    ts: T0,
    requestId: id,
    tier: "deepseek",
    workerId: "",
    request,
    error: null,
  };
  return { key: id, value, timestampMs: T0 };
}

function answered(id: string, workerId: string) {
  const value: DispatchEvent = {
    kind: "ANSWERED",
    ts: T0,
    requestId: id,
    tier: "deepseek",
    workerId,
    request: null,
    error: null,
  };
  return { key: id, value, timestampMs: T0 };
}

/** Request id → worker it was assigned to, for the assignments read since the last call. */
function assignments(d: Driver): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rec of d.read("assignments")) {
    const worker = rec.headers[WORKER_HEADER]!;
    expect(rec.key?.startsWith(`${worker}#`)).toBe(true);
    out[rec.value.id] = worker;
  }
  return out;
}

/** Sends every live worker's next heartbeat (what running workers do every interval). */
function beat(d: Driver, beats: Map<string, WorkerHeartbeat>, now: number): void {
  for (const [id, hb] of beats) {
    const next = { ...hb, seq: hb.seq + 1, ts: now };
    beats.set(id, next);
    d.setTableEntry("heartbeats", id, next);
  }
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>) {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
}

describe("workerDispatcher", () => {
  it("sends each request only to a live worker that can run it, the least loaded first", async () => {
    const { d } = dispatcher();
    d.setTableEntry("heartbeats", "gpu-big", heartbeat("gpu-big", { memoryGb: 48, paramsB: 70 }));
    d.setTableEntry("heartbeats", "gpu-small", heartbeat("gpu-small", { memoryGb: 16 }));
    d.setTableEntry("heartbeats", "cpu", heartbeat("cpu", { gpu: false, model: "phi2", paramsB: 2.7 }));
    d.setTableEntry("heartbeats", "other-tier", heartbeat("other-tier", { tier: "phi2" }));
    await d.pipe(job("big", { minMemoryGb: 40 }));
    await d.pipe(job("phi", { model: "phi2" }));
    await d.pipe(job("onnx-gpu", { gpu: true, format: "GGUF" }));
    expect(assignments(d)).toEqual({ big: "gpu-big", phi: "cpu", "onnx-gpu": "gpu-small" });
    // Load: gpu-big 1/2, gpu-small 1/2, cpu 1/2. Unconstrained requests go to the least loaded; on
    // a tie, to the smaller model (cpu: 2.7B), then by memory.
    await d.pipe(job("any-1"));
    await d.pipe(job("any-2", { gpu: true }));
    expect(assignments(d)).toEqual({ "any-1": "cpu", "any-2": "gpu-small" });
    expect(
      await metricValue(d.metrics, "spikemesh_worker_dispatcher_assigned_total", { worker: "cpu" }),
    ).toBe(2);
  });

  it("an answer clears the request; a redelivered request is not assigned twice", async () => {
    const { d } = dispatcher();
    d.setTableEntry("heartbeats", "w1", heartbeat("w1"));
    await d.pipe(job("r1"));
    await d.pipe(job("r1"));
    expect(assignments(d)).toEqual({ r1: "w1" });
    await d.advanceWallClock(100);
    expect(await metricValue(d.metrics, "spikemesh_worker_dispatcher_in_flight", { worker: "w1" })).toBe(1);
    await d.pipe(answered("r1", "w1"));
    await d.advanceWallClock(100);
    expect(await metricValue(d.metrics, "spikemesh_worker_dispatcher_in_flight", { worker: "w1" })).toBe(0);
    expect(await metricValue(d.metrics, "spikemesh_worker_dispatcher_answered_total", { worker: "w1" })).toBe(
      1,
    );
    expect(d.read("results")).toEqual([]);
  });

  it("reassigns the unanswered work of a worker that missed 3 heartbeats to another capable worker", async () => {
    const { d } = dispatcher();
    const beats = new Map([
      ["w1", heartbeat("w1", { memoryGb: 24 })],
      ["w2", heartbeat("w2", { memoryGb: 24 })],
      ["cpu", heartbeat("cpu", { gpu: false })],
    ]);
    for (const [id, hb] of beats) d.setTableEntry("heartbeats", id, hb);
    for (let i = 0; i < 6; i++) await d.pipe(job(`r${i}`, { gpu: true }));
    const first = assignments(d);
    const onW1 = Object.keys(first).filter((id) => first[id] === "w1");
    expect(onW1.length).toBe(3);
    expect(Object.values(first)).not.toContain("cpu");
    await d.pipe(answered(onW1[0]!, "w1"));

    // w1 stops; w2 and cpu keep beating. At 3 intervals w1 is still live, just past them it is not.
    beats.delete("w1");
    for (let t = 1; t <= 3; t++) {
      await d.advanceWallClock(INTERVAL);
      beat(d, beats, T0 + t * INTERVAL);
    }
    await d.advanceWallClock(0);
    expect(d.read("assignments")).toEqual([]);
    await d.advanceWallClock(100);
    const moved = assignments(d);
    // Only w1's two unanswered requests move, and only to the other GPU worker.
    expect(moved).toEqual(Object.fromEntries(onW1.slice(1).map((id) => [id, "w2"])));
    expect(
      await metricValue(d.metrics, "spikemesh_worker_dispatcher_reassigned_total", { worker: "w1" }),
    ).toBe(2);
    expect(await metricValue(d.metrics, "spikemesh_worker_dispatcher_workers", { state: "dropped" })).toBe(1);
    expect(
      await metricValue(d.metrics, "spikemesh_worker_dispatcher_heartbeat_age_seconds", { worker: "w1" }),
    ).toBeCloseTo(3.1);
    expect(d.read("results")).toEqual([]);
  });

  it("reassigns at once when a worker says it is leaving", async () => {
    const { d } = dispatcher();
    d.setTableEntry("heartbeats", "w1", heartbeat("w1", { concurrency: 8 }));
    d.setTableEntry("heartbeats", "w2", heartbeat("w2", { concurrency: 1 }));
    await d.pipe(job("r1"));
    expect(assignments(d)).toEqual({ r1: "w1" });
    d.setTableEntry("heartbeats", "w1", heartbeat("w1", { seq: 2, status: "LEAVING" }));
    await d.advanceWallClock(100);
    expect(assignments(d)).toEqual({ r1: "w2" });
  });

  it("a request no live worker can run waits, then gets an error result saying why", async () => {
    const { d, clock } = dispatcher({ waitForWorkerMs: 2_000 });
    d.setTableEntry("heartbeats", "small", heartbeat("small", { memoryGb: 16 }));
    d.setTableEntry("heartbeats", "cpu", heartbeat("cpu", { gpu: false, memoryGb: 64 }));
    await d.pipe(job("huge", { gpu: true, minMemoryGb: 40 }));
    await d.advanceWallClock(1_000);
    await d.pipe(job("later", { gpu: true, minMemoryGb: 40 }));
    await d.advanceWallClock(900);
    expect(d.read("results")).toEqual([]);
    await d.advanceWallClock(100);
    const [failed, ...rest] = d.read("results");
    expect(rest).toEqual([]);
    expect(failed!.value).toMatchObject({ id: "huge", model: DISPATCHER_MODEL, verdict: "UNKNOWN" });
    expect(failed!.value.error).toBe(
      "no live worker of tier deepseek can run it (needs memoryGb>=40, gpu): cpu: no GPU; small: 16 GB < 40 GB (waited 2000 ms)",
    );
    expect(failed!.value.latencyMs).toBe(2_000);
    expect(failed!.key).toBe("host-a");
    // A capable worker joins before `later` has waited 2 s: it gets it.
    d.setTableEntry("heartbeats", "big", heartbeat("big", { memoryGb: 48, ts: clock.nowMs() }));
    await d.advanceWallClock(100);
    expect(assignments(d)).toEqual({ later: "big" });
    expect(d.read("results")).toEqual([]);
    expect(
      await metricValue(d.metrics, "spikemesh_worker_dispatcher_failed_total", {
        reason: "no_capable_worker",
      }),
    ).toBe(1);
  });

  it("a request whose deadline passes while it waits fails with that reason", async () => {
    const { d } = dispatcher({ waitForWorkerMs: 60_000 });
    await d.pipe(job("soon", undefined, { deadline: T0 + 500 }));
    await d.advanceWallClock(400);
    expect(d.read("results")).toEqual([]);
    await d.advanceWallClock(200);
    const [result] = d.read("results");
    expect(result!.value.error).toBe(
      "no live worker of tier deepseek can run it (needs anything): no live workers; deadline passed while waiting",
    );
  });

  it("assigns a waiting request when a capable worker joins", async () => {
    const { d } = dispatcher({ waitForWorkerMs: 5_000 });
    await d.pipe(job("gpu-job", { gpu: true }));
    await d.advanceWallClock(1_000);
    expect(d.read("assignments")).toEqual([]);
    expect(await metricValue(d.metrics, "spikemesh_worker_dispatcher_waiting_requests", {})).toBe(1);
    d.setTableEntry("heartbeats", "late", heartbeat("late", { ts: T0 + 1_000 }));
    await d.advanceWallClock(100);
    expect(assignments(d)).toEqual({ "gpu-job": "late" });
    expect(d.read("results")).toEqual([]);
  });

  it("a request whose workers keep dying fails after maxAttempts assignments", async () => {
    const { d, clock } = dispatcher({ maxAttempts: 2 });
    d.setTableEntry("heartbeats", "a", heartbeat("a"));
    await d.pipe(job("cursed"));
    expect(assignments(d)).toEqual({ cursed: "a" });
    d.setTableEntry("heartbeats", "b", heartbeat("b", { ts: clock.nowMs() }));
    d.setTableEntry("heartbeats", "a", heartbeat("a", { seq: 2, status: "LEAVING" }));
    await d.advanceWallClock(100);
    expect(assignments(d)).toEqual({ cursed: "b" });
    d.setTableEntry("heartbeats", "b", heartbeat("b", { seq: 2, status: "LEAVING" }));
    await d.advanceWallClock(100);
    expect(d.read("assignments")).toEqual([]);
    const [result] = d.read("results");
    expect(result!.value.error).toBe("lost its worker 2 time(s) (a, b); not assigned again");
  });

  it("a malformed `requires` goes to the DLQ naming the field", async () => {
    const { d } = dispatcher();
    d.setTableEntry("heartbeats", "w1", heartbeat("w1"));
    await d.pipe(job("bad", { minMemoryGb: "lots" }));
    await d.pipe(job("wrong-tier", undefined, { tier: "phi2" }));
    expect(d.read("assignments")).toEqual([]);
    expect(d.dlq.map((x) => x.code)).toEqual(["RECORD_INVALID", "RECORD_INVALID"]);
    expect(d.dlq[0]!.reason).toContain("context.requires.minMemoryGb");
    expect(d.dlq[1]!.reason).toContain("is for tier phi2");
  });

  it("a restarted dispatcher resumes its pending requests and moves those of a worker that died meanwhile", async () => {
    const { d } = dispatcher();
    d.setTableEntry("heartbeats", "w1", heartbeat("w1"));
    d.setTableEntry("heartbeats", "w2", heartbeat("w2"));
    await d.pipe(job("r1"));
    await d.pipe(job("r2"));
    expect(assignments(d)).toEqual({ r1: "w1", r2: "w2" });
    await d.restart();
    await d.pipe(answered("r2", "w2"));
    // w1 died while the dispatcher was down: its heartbeat is the old one, 10 intervals old.
    d.setTableEntry("heartbeats", "w2", heartbeat("w2", { seq: 5, ts: T0 }));
    await d.advanceWallClock(10 * INTERVAL);
    expect(assignments(d)).toEqual({ r1: "w2" });
  });

  it("keeps the worker label bounded", async () => {
    const { d } = dispatcher({ maxWorkerLabels: 2 });
    for (const id of ["a", "b", "c", "d"]) {
      d.setTableEntry("heartbeats", id, heartbeat(id, { concurrency: 1 }));
    }
    for (let i = 0; i < 4; i++) await d.pipe(job(`r${i}`));
    expect(Object.values(assignments(d)).sort()).toEqual(["a", "b", "c", "d"]);
    const values = (await d.metrics.getSingleMetric("spikemesh_worker_dispatcher_assigned_total")!.get())
      .values;
    expect(values.map((v) => [v.labels.worker, v.value])).toEqual([
      ["a", 1],
      ["b", 1],
      ["other", 2],
    ]);
  });
});
