import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dispatcherTopology } from "../../cli/cluster/cluster-topology.js";
import { ClusterWorkerProcess } from "../../cli/cluster/worker-process.js";
import { IngressServer } from "../../cli/serve/ingress-server.js";
import type { WorkerCapabilities } from "../../processors/index.js";
import { type LogEvent, recordTypes, type TelemetryEvent } from "../../schemas/index.js";
import type { TopologyRunner } from "../../streams/index.js";
import { readSse, type SseEvent } from "../helpers/sse.js";
import { type RunnerHarness, runnerHarness } from "./runner-harness.js";

// The cluster on the embedded runtime, in one process: serve (with the deepseek dispatcher) and two
// workers of different capabilities, over real HTTP.
const KEY = "test-key-0123456789abcdef";
const APP = "cluster-it";

describe("serve and a worker cluster on the embedded runtime", { timeout: 60_000 }, () => {
  let h: RunnerHarness;
  let dispatcher: TopologyRunner;
  let workers: ClusterWorkerProcess[];
  let server: IngressServer;
  let url: string;
  const metrics = new Registry();

  beforeAll(async () => {
    h = await runnerHarness();
    dispatcher = h.runner(
      dispatcherTopology({
        appId: APP,
        partitions: 2,
        tiers: [{ tier: "deepseek", options: { tickMs: 50, waitForWorkerMs: 1_500 } }],
      }),
      { wallTickMs: 50, metrics },
    );
    await dispatcher.start();
    const worker = (workerId: string, capabilities: Partial<WorkerCapabilities>) =>
      new ClusterWorkerProcess({
        transport: h.transport,
        codec: h.codec,
        log: h.logger,
        metrics: new Registry(),
        appId: APP,
        partitions: 2,
        workerId,
        tier: "deepseek",
        capabilities: {
          model: "deepseek",
          paramsB: 7,
          memoryGb: 16,
          formats: ["gguf"],
          gpu: false,
          concurrency: 2,
          ...capabilities,
        },
        heartbeatMs: 100,
        options: { backend: { kind: "rules", model: `rules on ${workerId}` } },
        runner: { maxWaitMs: 50, maxBatchRecords: 8 },
      });
    workers = [
      worker("gpu-1", { gpu: true, memoryGb: 24 }),
      worker("cpu-1", { model: "phi2", paramsB: 2.7 }),
    ];
    for (const w of workers) await w.start();
    server = new IngressServer({
      transport: h.transport,
      codec: h.codec,
      log: h.logger,
      metrics,
      apiKeys: [KEY, "second-key-0123456789"],
      tiers: ["rules", "deepseek"],
      partitions: 2,
      maxBodyBytes: 4096,
      jobTimeoutMs: 60_000,
      maxJobs: 100,
      keepAliveS: 1,
    });
    url = await server.start();
  });

  afterAll(async () => {
    await server?.close();
    for (const w of workers ?? []) await w.stop();
    await h?.close();
  });

  const post = (path: string, body: unknown, key: string | null = KEY) =>
    fetch(`${url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  const follow = (jobId: string) => readSse(`${url}/jobs/${jobId}/events`, { "x-api-key": KEY }, 20_000);

  it("refuses requests without a valid API key, before reading the body", async () => {
    const event = { ts: "2026-11-23T10:00:00Z", source: "web-1", metric: "cpu.util", value: 1 };
    for (const key of [null, "wrong-key-0123456789abcdef", `${KEY}x`, KEY.slice(0, -1)]) {
      const res = await post("/events/telemetry", event, key);
      expect(res.status, String(key)).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
    expect((await fetch(`${url}/jobs/nope/events`)).status).toBe(401);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it("takes telemetry and log events as Avro on the raw topics, and names the bad field of a bad one", async () => {
    const events = [1, 2, 3].map((i) => ({
      ts: "2026-11-23T10:00:00Z",
      source: `web-${i}`,
      metric: "cpu.util",
      value: i * 10,
      tags: { dc: "eu" },
    }));
    const ok = await post("/events/telemetry", events);
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ topic: "telemetry.raw", accepted: 3 });
    const log = await post(
      "/events/logs",
      { ts: 1_795_428_000_000, source: "api", level: "ERROR", message: "disk full" },
      "second-key-0123456789",
    );
    expect(log.status).toBe(202);

    const bad = await post("/events/telemetry", [events[0], { ...events[1], value: "lots" }]);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: "events[1].value" });
    const missing = await post("/events/telemetry", { ts: 1, metric: "m", value: 1 });
    expect(await missing.json()).toMatchObject({ field: "event.source" });
    const level = await post("/events/logs", { ts: 1, source: "api", level: "LOUD", message: "x" });
    expect(level.status).toBe(400);
    expect(await level.json()).toMatchObject({ field: "event.level" });
    expect((await post("/events/telemetry", "{not json")).status).toBe(400);
    expect((await post("/events/media", events[0])).status).toBe(404);
    const big = await post(
      "/events/telemetry",
      [...Array(100)].map(() => events[0]),
    );
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toMatch(/over the limit of 4096 bytes/);

    // Only the accepted requests reached the topics: 3 events, then 1 log line.
    const telemetry = await h.readAll("telemetry.raw");
    const values: TelemetryEvent[] = [];
    for (const r of telemetry)
      values.push((await h.codec.decode(r.topic, recordTypes.TelemetryEvent, r.value!)) as TelemetryEvent);
    expect(values.map((v) => `${v.source}=${v.value}@${v.ts}`).sort()).toEqual([
      "web-1=10@1795428000000",
      "web-2=20@1795428000000",
      "web-3=30@1795428000000",
    ]);
    expect(telemetry.map((r) => r.key?.toString()).sort()).toEqual(["web-1", "web-2", "web-3"]);
    const [line] = await h.readAll("logs.raw");
    expect(((await h.codec.decode("logs.raw", recordTypes.LogEvent, line!.value!)) as LogEvent).level).toBe(
      "ERROR",
    );
  });

  it("runs a job on a worker that can: queued → assigned → answered over server-sent events", async () => {
    const gpuJob = await post("/jobs", {
      tier: "deepseek",
      prompt: "why is web-1 slow?",
      requires: { gpu: true },
    });
    expect(gpuJob.status).toBe(202);
    const { jobId } = (await gpuJob.json()) as { jobId: string };
    expect(gpuJob.headers.get("location")).toBe(`/jobs/${jobId}`);
    const events = await follow(jobId);
    expect(events.map((e) => e.event)).toEqual(["queued", "assigned", "answered"]);
    expect(events[1]!.data).toMatchObject({ workerId: "gpu-1" });
    expect(events[2]!.data).toMatchObject({
      ok: true,
      result: { id: jobId, tier: "deepseek", model: "rules on gpu-1", error: null },
    });

    const phi = (await (
      await post("/jobs", { tier: "deepseek", data: { x: 1 }, requires: { model: "PHI2" } })
    ).json()) as {
      jobId: string;
    };
    const phiEvents = await follow(phi.jobId);
    expect(phiEvents[1]!.data).toMatchObject({ workerId: "cpu-1" });
    expect((phiEvents[2]!.data as { result: { model: string } }).result.model).toBe("rules on cpu-1");
    // The stream replays a finished job's progress to a late reader, then closes.
    expect((await follow(phi.jobId)).map((e) => e.event)).toEqual(["queued", "assigned", "answered"]);
    const status = await fetch(`${url}/jobs/${phi.jobId}`, { headers: { "x-api-key": KEY } });
    expect(await status.json()).toMatchObject({ status: "answered" });
  });

  it("answers a job no live worker can run with an error saying why", async () => {
    const res = await post("/jobs", {
      tier: "deepseek",
      prompt: "big",
      requires: { minMemoryGb: 80, gpu: true },
    });
    const { jobId } = (await res.json()) as { jobId: string };
    const events: SseEvent[] = await follow(jobId);
    expect(events.map((e) => e.event)).toEqual(["queued", "answered"]);
    const answered = events[1]!.data as { ok: boolean; result: { error: string; model: string } };
    expect(answered.ok).toBe(false);
    expect(answered.result.model).toBe("dispatcher");
    expect(answered.result.error).toMatch(
      /^no live worker of tier deepseek can run it \(needs memoryGb>=80, gpu\): cpu-1: 16 GB < 80 GB, no GPU; gpu-1: 24 GB < 80 GB \(waited \d+ ms\)$/,
    );
  });

  it("rejects bad jobs naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ tier: "nope", prompt: "x" }, "tier"],
      [{ tier: "deepseek", prompt: "x", requires: { gpu: "yes" } }, "requires.gpu"],
      [{ tier: "deepseek", prompt: "x", extra: 1 }, "(body)"],
      [{ tier: "deepseek" }, "prompt"],
      [{ tier: "deepseek", prompt: "x", timeoutMs: -5 }, "timeoutMs"],
    ];
    for (const [body, field] of cases) {
      const res = await post("/jobs", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { field: string }).field).toBe(field);
    }
    expect((await fetch(`${url}/jobs/unknown-id`, { headers: { "x-api-key": KEY } })).status).toBe(404);
    expect((await fetch(`${url}/jobs`, { headers: { "x-api-key": KEY } })).status).toBe(405);
  });
});
