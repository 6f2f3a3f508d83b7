/**
 * Model faults (issue #11 item 4), on the real broker with the real tier worker, http backend,
 * control sink and (for hangs and crashes) a real `spikemesh serve-model` child on the tiny GGUF:
 * a backend that hangs (SIGSTOP), crashes (SIGKILL), answers garbage or answers too slowly. In each
 * case deadlines fire, the per-partition circuit breaker opens, requests fall back to the rules
 * tier and failures end as TIMEOUT or ERROR feedback; every request gets exactly one result, so no
 * partition stays stuck. Overload: a tier ten times slower than its input keeps its memory bounded
 * by pausing partitions (RSS measured in a child process and printed).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { controlSinkSpec, escalationTierSpec } from "../../processors/index.js";
import {
  type ControlAction,
  type Feedback,
  type ReasoningRequest,
  type ReasoningResult,
  recordTypes,
} from "../../schemas/index.js";
import type { Consumer, Producer } from "../../streams/transport/transport.js";
import { reasoningRequest } from "../helpers/reasoning-request.js";
import { tinyModelPath } from "../helpers/tiny-model.js";
import { killIfRunning } from "../unit/helpers/crash-harness.js";
import { type Child, CLI_MAIN, exited, startChild } from "./helpers/child-process.js";
import { type FaultyModelServer, startFaultyModelServer } from "./helpers/faulty-model-server.js";
import { type KafkaHarness, kafkaHarness } from "./helpers/kafka-harness.js";

const PARTITIONS = 3;
const SOURCES = Array.from({ length: 12 }, (_, i) => `host-${i}`);
/** Tier settings of the model tier under test: short timeout, quick breaker. */
const TIER = {
  timeoutMs: 4000,
  maxAttempts: 2,
  backoffBaseMs: 20,
  backoffMaxMs: 100,
  breaker: { failureThreshold: 2, openMs: 2000 },
  fallbackTier: "rules",
};

let h: KafkaHarness;
let hasHarness = false;
let children: Child[] = [];
let servers: FaultyModelServer[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of children) {
    if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill("SIGCONT");
    await killIfRunning(c.process);
  }
  children = [];
  for (const s of servers) await s.close();
  servers = [];
  for (const close of closers.splice(0).reverse()) await close();
  if (hasHarness) await h.close();
  hasHarness = false;
});

async function harness(): Promise<KafkaHarness> {
  h = await kafkaHarness();
  hasHarness = true;
  return h;
}

/** `spikemesh serve-model` on the tiny GGUF; resolves with the child and its base URL. */
async function serveModel(port = 0): Promise<{ child: Child; url: string }> {
  const child = startChild(CLI_MAIN, [
    "serve-model",
    "--model",
    tinyModelPath(),
    "--port",
    String(port),
    "--threads",
    "1",
    "--sequences",
    "2",
    "--context-size",
    "4096",
    "--name",
    "tiny",
  ]);
  children.push(child);
  const line = await child.line(/^serving .* on http:\/\/\S+\/v1/, 120_000);
  return { child, url: /(http:\/\/\S+\/v1)/.exec(line)![1]! };
}

function fallbackId(id: string, tier = "rules"): string {
  return createHash("sha256").update(`${id}\u0000${tier}`).digest("hex").slice(0, 32);
}

/** Every record of `topic` decoded as `type`, kept as it arrives (one background consumer). */
function collect<T>(topic: string, type: (typeof recordTypes)[keyof typeof recordTypes]): { values: T[] } {
  const values: T[] = [];
  const consumer: Consumer = h.transport().consumer({ groupId: h.name("collect") });
  let isStopped = false;
  const loop = (async () => {
    await consumer.subscribe([topic]);
    while (!isStopped) {
      for (const rec of await consumer.poll({ maxRecords: 1000, maxWaitMs: 200 })) {
        values.push((await h.codec.decode(rec.topic, type as never, rec.value!)) as T);
      }
    }
  })();
  closers.push(async () => {
    isStopped = true;
    await loop.catch(() => undefined);
    await consumer.close();
  });
  return { values };
}

interface TierRig {
  topics: { phi2: string; rules: string; results: string; feedback: string; control: string };
  results: ReasoningResult[];
  feedback: Feedback[];
  control: ControlAction[];
  metrics(): Promise<string>;
  /** Produces requests to the phi2 tier, one per source; returns them with their partitions. */
  request(sources: string[], tag: string): Promise<(ReasoningRequest & { partition: number })[]>;
  /** Waits until every request has a phi2 result, and every failed one a rules result for its fallback. */
  settled(requests: ReasoningRequest[], ms?: number): Promise<void>;
  phi2Of(id: string): ReasoningResult[];
}

/** tier-phi2 (http backend at `baseUrl`) → fallback tier-rules → control sink, on unique topics. */
async function tierRig(baseUrl: string, model: string): Promise<TierRig> {
  await harness();
  const topics = {
    phi2: h.name("esc-phi2"),
    rules: h.name("esc-rules"),
    deep: h.name("esc-deep"),
    results: h.name("results"),
    feedback: h.name("feedback"),
    control: h.name("control"),
  };
  await h.admin.createTopics(Object.values(topics).map((name) => ({ name, partitions: PARTITIONS })));
  const runner = h.runner(
    {
      appId: h.name("faults"),
      defaultPartitions: PARTITIONS,
      nodes: [
        {
          name: "tier-phi2",
          spec: escalationTierSpec,
          input: topics.phi2,
          outputs: { results: topics.results, fallback: topics.rules, handUp: topics.deep },
          options: { tier: "phi2", backend: { kind: "http", baseUrl, model }, ...TIER },
        },
        {
          name: "tier-rules",
          spec: escalationTierSpec,
          input: topics.rules,
          outputs: { results: topics.results, fallback: topics.deep, handUp: topics.deep },
          options: { tier: "rules" },
        },
        {
          name: "control-sink",
          spec: controlSinkSpec,
          input: topics.results,
          outputs: { control: topics.control, feedback: topics.feedback },
        },
      ],
    },
    { lagIntervalMs: 0 },
  );
  await runner.start();
  let crash: unknown = null;
  runner.crashed.catch((err: unknown) => (crash ??= err));
  const results = collect<ReasoningResult>(topics.results, recordTypes.ReasoningResult).values;
  const feedback = collect<Feedback>(topics.feedback, recordTypes.Feedback).values;
  const control = collect<ControlAction>(topics.control, recordTypes.ControlAction).values;
  const producer: Producer = h.transport().producer();
  closers.push(() => producer.close());
  const phi2Of = (id: string) => results.filter((r) => r.id === id && r.tier === "phi2");
  return {
    topics,
    results,
    feedback,
    control,
    metrics: () => runner.metrics.metrics(),
    phi2Of,
    async request(sources, tag) {
      const now = Date.now();
      const requests = sources.map((source, i) =>
        reasoningRequest({
          id: `${tag}-${i}-${source}`,
          ts: now,
          source,
          tier: "phi2",
          route: "single->phi2",
          // Far away: the tier's own timeoutMs is what fires here.
          deadline: now + 600_000,
        }),
      );
      const sent = await producer.send(
        await Promise.all(
          requests.map(async (r) => ({
            topic: topics.phi2,
            key: Buffer.from(r.source),
            value: await h.codec.encode(topics.phi2, recordTypes.ReasoningRequest, r),
            timestampMs: r.ts,
          })),
        ),
      );
      return requests.map((r, i) => ({ ...r, partition: sent[i]!.partition }));
    },
    async settled(requests, ms = 120_000) {
      await h.waitFor(
        `results for ${requests.length} requests (and their fallbacks)`,
        async () => {
          if (crash !== null) throw crash;
          const isDone = requests.every((r) => {
            const [first] = phi2Of(r.id);
            if (first === undefined) return false;
            return (
              first.error === null || results.some((x) => x.id === fallbackId(r.id) && x.tier === "rules")
            );
          });
          return isDone ? true : undefined;
        },
        ms,
      );
    },
  };
}

/** The value of a counter series, e.g. `spikemesh_escalation_tier_backend_failures_total{...kind="timeout"}`, summed. */
function counter(text: string, name: string, match: string): number {
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) && l.includes(match))
    .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
}

/** What every fault case must show once its requests settled. */
function expectNothingStuck(rig: TierRig, requests: (ReasoningRequest & { partition: number })[]): void {
  // Exactly one phi2 result per request, on every partition.
  for (const r of requests) expect(rig.phi2Of(r.id), r.id).toHaveLength(1);
  expect(new Set(requests.map((r) => r.partition)).size).toBe(PARTITIONS);
  for (const r of requests) {
    const [result] = rig.phi2Of(r.id);
    if (result!.error === null) continue;
    // A failure is reported (UNKNOWN, never acted on), falls back to the rules tier, which answers it.
    expect(result!.verdict).toBe("UNKNOWN");
    const fallback = rig.results.filter((x) => x.id === fallbackId(r.id));
    expect(fallback.map((x) => [x.tier, x.error])).toEqual([["rules", null]]);
  }
}

/** One line of what a case saw, for RELIABILITY.md. */
function report(
  name: string,
  rig: TierRig,
  requests: ReasoningRequest[],
  extra: Record<string, unknown> = {},
): void {
  const errors = requests.map((r) => rig.phi2Of(r.id)[0]?.error ?? "");
  const count = (p: (e: string) => boolean) => errors.filter(p).length;
  console.log(
    `[model-faults] ${JSON.stringify({
      case: name,
      requests: requests.length,
      answered: count((e) => e === ""),
      timeouts: count((e) => e.startsWith("deadline exceeded")),
      breakerOpen: count((e) => e.startsWith("circuit breaker open")),
      otherErrors: count(
        (e) => e !== "" && !e.startsWith("deadline exceeded") && !e.startsWith("circuit breaker open"),
      ),
      fallbacksAnswered: requests.filter((r) =>
        rig.results.some((x) => x.id === fallbackId(r.id) && x.error === null),
      ).length,
      feedback: Object.fromEntries(
        ["TIMEOUT", "ERROR", "USEFUL", "NOT_USEFUL"].map((o) => [
          o,
          rig.feedback.filter((f) => f.outcome === o && requests.some((r) => r.id === f.requestId)).length,
        ]),
      ),
      ...extra,
    })}`,
  );
}

/**
 * Before the fault: one request at a time until the model answers one in time. The first calls of a
 * freshly loaded model on a busy 2-core machine can take longer than the tier's 4 s timeout, so a
 * fixed batch of "healthy" requests failed there; polling (bounded) waits for the model instead.
 */
async function untilHealthy(rig: TierRig): Promise<ReasoningRequest[]> {
  const sent: ReasoningRequest[] = [];
  await h.waitFor(
    "a model answer before the fault",
    async () => {
      const batch = await rig.request([SOURCES[sent.length % SOURCES.length]!], `healthy${sent.length}`);
      sent.push(...batch);
      await rig.settled(batch);
      return batch.every((r) => rig.phi2Of(r.id)[0]?.error === null) ? true : undefined;
    },
    180_000,
  );
  return sent;
}

/** Waits until feedback exists for every failed phi2 result and returns the outcomes by request id. */
async function feedbackFor(rig: TierRig, requests: ReasoningRequest[]): Promise<Map<string, string>> {
  const failed = requests.filter((r) => rig.phi2Of(r.id)[0]!.error !== null).map((r) => r.id);
  await h.waitFor("feedback for every failed request", async () =>
    failed.every((id) => rig.feedback.some((f) => f.requestId === id)) ? true : undefined,
  );
  return new Map(
    rig.feedback.filter((f) => failed.includes(f.requestId)).map((f) => [f.requestId, f.outcome]),
  );
}

describe("model faults", () => {
  it("a serve-model that hangs (SIGSTOP): deadlines fire, the breaker opens, requests fall back and end as TIMEOUT or ERROR feedback; after SIGCONT the tier answers again", async () => {
    const model = await serveModel();
    const rig = await tierRig(model.url, "tiny");
    const healthy = await untilHealthy(rig);

    model.child.process.kill("SIGSTOP");
    const hung = await rig.request(SOURCES, "hung");
    await rig.settled(hung);
    expectNothingStuck(rig, hung);
    const errors = hung.map((r) => rig.phi2Of(r.id)[0]!.error ?? "");
    expect(errors.every((e) => e !== "")).toBe(true);
    expect(errors.filter((e) => e.startsWith("deadline exceeded")).length).toBeGreaterThan(0);
    expect(errors.filter((e) => e.startsWith("circuit breaker open")).length).toBeGreaterThan(0);
    const outcomes = await feedbackFor(rig, hung);
    for (const r of hung) {
      const error = rig.phi2Of(r.id)[0]!.error!;
      expect(outcomes.get(r.id), error).toBe(error.startsWith("deadline exceeded") ? "TIMEOUT" : "ERROR");
    }
    report("serve-model SIGSTOP", rig, hung);
    const text = await rig.metrics();
    const name = "spikemesh_escalation_tier_backend_failures_total";
    expect(counter(text, name, 'kind="timeout"')).toBeGreaterThan(0);
    expect(counter(text, name, 'kind="breaker_open"')).toBeGreaterThan(0);

    // Resumed: after openMs a trial call goes through and closes the breaker.
    model.child.process.kill("SIGCONT");
    const probes: (ReasoningRequest & { partition: number })[] = [];
    await h.waitFor(
      "a model answer after SIGCONT",
      async () => {
        probes.push(...(await rig.request([SOURCES[0]!], `probe${probes.length}`)));
        await new Promise((r) => setTimeout(r, 500));
        return rig.results.some((x) => x.id.startsWith("probe") && x.tier === "phi2" && x.error === null)
          ? true
          : undefined;
      },
      90_000,
    );
    await rig.settled(probes);
    for (const r of [...healthy, ...hung, ...probes]) expect(rig.phi2Of(r.id)).toHaveLength(1);
  }, 300_000);

  it("a serve-model that crashes (SIGKILL): calls fail as unreachable, the breaker opens, requests fall back with ERROR feedback; a restarted server is used again", async () => {
    const model = await serveModel();
    const rig = await tierRig(model.url, "tiny");
    await untilHealthy(rig);

    model.child.process.kill("SIGKILL");
    expect((await exited(model.child.process)).signal).toBe("SIGKILL");
    const down = await rig.request(SOURCES, "down");
    await rig.settled(down);
    expectNothingStuck(rig, down);
    const errors = down.map((r) => rig.phi2Of(r.id)[0]!.error ?? "");
    expect(errors.filter((e) => e.includes("cannot reach")).length).toBeGreaterThan(0);
    expect(errors.filter((e) => e.startsWith("circuit breaker open")).length).toBeGreaterThan(0);
    const outcomes = await feedbackFor(rig, down);
    expect([...outcomes.values()].every((o) => o === "ERROR")).toBe(true);
    report("serve-model SIGKILL", rig, down);

    // The same port again: once the breaker lets a trial through, the tier answers.
    const port = new URL(model.url).port;
    await serveModel(Number(port));
    const probes: (ReasoningRequest & { partition: number })[] = [];
    await h.waitFor(
      "a model answer from the restarted server",
      async () => {
        probes.push(...(await rig.request([SOURCES[0]!], `probe${probes.length}`)));
        await new Promise((r) => setTimeout(r, 500));
        return rig.results.some((x) => x.id.startsWith("probe") && x.tier === "phi2" && x.error === null)
          ? true
          : undefined;
      },
      90_000,
    );
    await rig.settled(probes);
  }, 300_000);

  it("a backend that answers garbage: every answer is rejected (retried, then an error), nothing it said is acted on, the breaker opens, requests fall back", async () => {
    const server = await startFaultyModelServer("garbage");
    servers.push(server);
    const rig = await tierRig(server.url, "garbage");
    const requests = await rig.request(SOURCES, "garbage");
    await rig.settled(requests);
    expectNothingStuck(rig, requests);
    const phi2 = requests.map((r) => rig.phi2Of(r.id)[0]!);
    expect(phi2.every((x) => x.error !== null && x.verdict === "UNKNOWN" && x.action === null)).toBe(true);
    expect(phi2.filter((x) => x.error!.startsWith("circuit breaker open")).length).toBeGreaterThan(0);
    // The hostile verdict and action never became a result's verdict or action, nor a control action.
    expect(rig.results.filter((x) => x.action === "rm -rf /" || x.verdict === ("PWNED" as never))).toEqual(
      [],
    );
    await feedbackFor(rig, requests);
    report("garbage", rig, requests, { serverReceived: server.received });
    expect(rig.control.filter((c) => c.reason.includes("tier phi2"))).toEqual([]);
    const text = await rig.metrics();
    expect(
      counter(text, "spikemesh_escalation_tier_backend_failures_total", 'kind="invalid_output"'),
    ).toBeGreaterThan(0);
    // The breaker spared the server: without it every request would have been tried twice.
    expect(server.received).toBeLessThan(requests.length * TIER.maxAttempts);
  }, 300_000);

  it("a backend slower than the tier's timeout: calls time out (TIMEOUT feedback), the breaker opens, requests fall back", async () => {
    const server = await startFaultyModelServer("slow", 3 * TIER.timeoutMs);
    servers.push(server);
    const rig = await tierRig(server.url, "slow");
    const requests = await rig.request(SOURCES, "slow");
    await rig.settled(requests);
    expectNothingStuck(rig, requests);
    const errors = requests.map((r) => rig.phi2Of(r.id)[0]!.error ?? "");
    expect(
      errors.every((e) => e.startsWith("deadline exceeded") || e.startsWith("circuit breaker open")),
    ).toBe(true);
    const timeouts = requests.filter((r) => rig.phi2Of(r.id)[0]!.error!.startsWith("deadline exceeded"));
    expect(timeouts.length).toBeGreaterThan(0);
    const outcomes = await feedbackFor(rig, requests);
    for (const r of timeouts) expect(outcomes.get(r.id)).toBe("TIMEOUT");
    report("slow", rig, requests, { serverReceived: server.received });
    // Timeouts are not retried and the breaker stopped calls: fewer calls than requests.
    expect(server.received).toBeLessThan(requests.length);
  }, 300_000);
});

describe("overload", () => {
  it("a tier ten times slower than its input keeps its memory bounded by pausing partitions (RSS measured)", async () => {
    const DELAY_MS = 50;
    const CONTEXT_BYTES = 16 * 1024;
    const MAX_QUEUED = 300;
    /** Each of the 3 partitions answers one request per DELAY_MS at best. */
    const capacityPerSec = (PARTITIONS * 1000) / DELAY_MS;
    const ratePerSec = 10 * capacityPerSec;
    const INPUT_MS = 25_000;
    /** Largest RSS growth allowed while the input arrives. */
    const BOUND_BYTES = 100 * 2 ** 20;
    const server = await startFaultyModelServer("slow", DELAY_MS);
    servers.push(server);
    await harness();
    const input = h.name("overload-in");
    const results = h.name("overload-results");
    await h.admin.createTopics([
      { name: input, partitions: PARTITIONS },
      { name: results, partitions: PARTITIONS },
    ]);
    const child = startChild(join(import.meta.dirname, "helpers/tier-child.ts"), [
      h.brokers,
      h.registryUrl,
      h.name("overload"),
      input,
      results,
      server.url,
      String(MAX_QUEUED),
    ]);
    children.push(child);
    const samples: { rss: number; paused: number; answered: number }[] = [];
    let pending = "";
    child.process.stdout!.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const m = /^stats (\d+) (\d+) (\d+)$/.exec(line);
        if (m) samples.push({ rss: Number(m[1]), paused: Number(m[2]), answered: Number(m[3]) });
      }
    });
    await child.line(/^started$/, 120_000);
    await h.waitFor("a first stats line", async () => {
      if (child.process.exitCode !== null) throw new Error(`tier child exited\n${child.output()}`);
      return samples.length > 0 ? true : undefined;
    });
    const before = samples.at(-1)!.rss;

    // Input at ten times the tier's best rate, in 100 ms slices, with a ~16 KB context each.
    const producer = h.transport().producer();
    closers.push(() => producer.close());
    const context = JSON.stringify({ kind: "single", note: "x".repeat(CONTEXT_BYTES) });
    const template = await h.codec.encode(
      input,
      recordTypes.ReasoningRequest,
      reasoningRequest({ context, deadline: Date.now() + 3_600_000 }),
    );
    let sent = 0;
    let sentBytes = 0;
    const started = performance.now();
    while (performance.now() - started < INPUT_MS) {
      const due = Math.floor(((performance.now() - started) / 1000) * ratePerSec);
      const batch = [];
      for (; sent < due; sent++) {
        const source = SOURCES[sent % SOURCES.length]!;
        batch.push({ topic: input, key: Buffer.from(source), value: template });
        sentBytes += template.length;
      }
      if (batch.length > 0) await producer.send(batch);
      await new Promise((r) => setTimeout(r, 100));
    }
    const inputSeconds = (performance.now() - started) / 1000;
    // Let the tier run against the backlog a little longer, then stop it.
    const lastSamples = samples.length;
    await h.waitFor("more stats after the input", async () =>
      samples.length >= lastSamples + 6 ? true : undefined,
    );
    child.process.kill("SIGTERM");
    expect(await exited(child.process)).toEqual({ code: 0, signal: null });

    const maxRss = Math.max(...samples.map((s) => s.rss));
    const answered = samples.at(-1)!.answered;
    const mb = (n: number) => Math.round(n / 2 ** 20);
    console.log(
      `[overload] ${JSON.stringify({
        inputRecords: sent,
        inputMb: mb(sentBytes),
        inputPerSec: Math.round(sent / inputSeconds),
        tierCapacityPerSec: capacityPerSec,
        answered,
        maxQueuedRecords: MAX_QUEUED,
        rssBeforeMb: mb(before),
        rssMaxMb: mb(maxRss),
        rssGrowthMb: mb(maxRss - before),
        pausedMax: Math.max(...samples.map((s) => s.paused)),
        rssMbOverTime: samples.filter((_, i) => i % 4 === 0).map((s) => mb(s.rss)),
      })}`,
    );
    // The tier really was the bottleneck: most of the input is still unanswered.
    expect(answered).toBeLessThan(sent / 3);
    // Backpressure: partitions were paused.
    expect(Math.max(...samples.map((s) => s.paused))).toBeGreaterThan(0);
    // A generous bound, and the input was more than twice it: buffering it all would break it.
    expect(sentBytes).toBeGreaterThan(2 * BOUND_BYTES);
    expect(maxRss - before).toBeLessThan(BOUND_BYTES);
  }, 300_000);
});
