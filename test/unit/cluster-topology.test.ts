import { readFileSync } from "node:fs";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parseCapabilitiesArg, resolveCapabilities } from "../../cli/cluster/cluster-config.js";
import { dispatcherTopology } from "../../cli/cluster/cluster-topology.js";
import { ClusterWorkerProcess } from "../../cli/cluster/worker-process.js";
import { configSchema } from "../../cli/config.js";
import { loadTopology } from "../../cli/topology/index.js";
import { workerDispatcherOptionsSchema } from "../../processors/index.js";
import { type ReasoningResult, recordTypes } from "../../schemas/index.js";
import { ConfigError, nodeName, topologyTopics } from "../../streams/index.js";
import { runCli } from "../e2e/run-cli.js";
import { reasoningRequest } from "../helpers/reasoning-request.js";
import { tempDir } from "./helpers/temp-dir.js";
import { type RunnerHarness, runnerHarness } from "./runner-harness.js";

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error("accepted");
}

describe("worker capabilities from the flag", () => {
  it("parses numbers, booleans, sizes and format lists", () => {
    expect(
      resolveCapabilities(
        parseCapabilitiesArg("model=phi2,params=2.7b,memoryGb=8,formats=GGUF|onnx,gpu=false,concurrency=4"),
        "--capabilities",
      ),
    ).toEqual({
      model: "phi2",
      paramsB: 2.7,
      memoryGb: 8,
      formats: ["gguf", "onnx"],
      gpu: false,
      concurrency: 4,
    });
    expect(resolveCapabilities({ model: "m", memoryGb: 1 }, "worker.capabilities")).toEqual({
      model: "m",
      paramsB: 0,
      memoryGb: 1,
      formats: ["gguf"],
      gpu: false,
      concurrency: 1,
    });
  });

  it("names every bad field", () => {
    expect(
      problems(() =>
        resolveCapabilities(
          parseCapabilitiesArg("model=phi2,params=huge,memoryGb=-1,gpu=yes,concurrency=0,vram=8"),
          "--capabilities",
        ),
      ),
    ).toEqual([
      "--capabilities.params: a size like 2.7b, 7B, 350m, or a number of billions",
      "--capabilities.memoryGb: Too small: expected number to be >0",
      "--capabilities.gpu: Invalid input: expected boolean, received string",
      "--capabilities.concurrency: Too small: expected number to be >=1",
      '--capabilities: Unrecognized key: "vram"',
    ]);
    expect(problems(() => parseCapabilitiesArg("model=phi2,gpu"))).toEqual([
      '--capabilities: "gpu" is not key=value',
    ]);
    expect(problems(() => resolveCapabilities(undefined, "worker.capabilities"))[0]).toMatch(
      /^worker\.capabilities: required/,
    );
  });

  it("the worker command stops before connecting, naming the field", async () => {
    const tmp = await tempDir("spikemesh-worker-cli-");
    try {
      const res = await runCli(["worker", "--tier", "Deep", "--capabilities", "model=x,memoryGb=lots"], {
        cwd: tmp.dir,
      });
      expect(res.code).toBe(2);
      expect(res.stderr).toContain(`--tier: "Deep" must be lower-case letters, digits or '-'`);
      expect(res.stderr).toContain(
        "--capabilities.memoryGb: Invalid input: expected number, received string",
      );
    } finally {
      await tmp.remove();
    }
  });
});

describe("the README's worker configuration", () => {
  it("is a valid configuration whose capabilities resolve", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Worker cluster"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const parsed = configSchema.safeParse(parseYaml(yaml));
    expect(parsed.error?.issues).toBeUndefined();
    const worker = parsed.data!.worker;
    expect(resolveCapabilities(worker.capabilities, "worker.capabilities")).toMatchObject({
      paramsB: 7,
      gpu: true,
    });
    expect(() =>
      workerDispatcherOptionsSchema.parse({ tier: worker.tier, ...worker.dispatcher }),
    ).not.toThrow();
  });
});

describe("the cluster preset", () => {
  const loaded = () => loadTopology("cluster", { appId: "a", partitions: 2 });

  it("has a dispatcher per model tier wired as `serve --dispatch` wires them, and the mesh around them", () => {
    const { topology, kinds } = loaded();
    const byName = new Map(topology.nodes.map((n) => [nodeName(n), n]));
    const expected = dispatcherTopology({
      appId: "a",
      partitions: 2,
      tiers: [{ tier: "phi2" }, { tier: "deepseek" }],
    });
    for (const node of expected.nodes) {
      const mine = byName.get(nodeName(node))!;
      expect(mine, nodeName(node)).toBeDefined();
      expect({
        spec: mine.spec,
        input: mine.input,
        outputs: mine.outputs,
        tables: mine.tables ?? {},
      }).toEqual({
        spec: node.spec,
        input: node.input,
        outputs: node.outputs,
        tables: node.tables ?? {},
      });
    }
    expect(kinds["dispatcher-deepseek"]).toBe("worker-dispatcher");
    // No node answers the model tiers itself: their requests all go through the dispatchers.
    const inputs = topology.nodes.map((n) => n.input);
    expect(inputs.filter((t) => t === "escalations.phi2" || t === "escalations.deepseek")).toHaveLength(2);
    expect([...byName.keys()]).toEqual(
      expect.arrayContaining(["router", "tier-rules", "control-sink", "feedback-learner"]),
    );
    expect(topologyTopics(topology).find((t) => t.name === "workers.heartbeats")).toMatchObject({
      partitions: 1,
      cleanupPolicy: "compact",
    });
  });

  it("a bad dispatcher option is reported with its file, line and field", () => {
    expect(
      problems(() =>
        loadTopology("cluster", {
          appId: "a",
          partitions: 2,
          nodes: { "dispatcher-phi2": { missedHeartbeats: 0 } },
        }),
      ),
    ).toEqual([expect.stringMatching(/missedHeartbeats/)]);
  });
});

describe("the cluster preset running with a worker on the embedded runtime", () => {
  let h: RunnerHarness | undefined;
  let worker: ClusterWorkerProcess | undefined;
  afterEach(async () => {
    await worker?.stop();
    await h?.close();
  });

  it("a router-less request on escalations.phi2 is answered by the phi2 worker", {
    timeout: 60_000,
  }, async () => {
    h = await runnerHarness();
    const { topology } = loadTopology("cluster", { appId: "c", partitions: 2 });
    const runner = h.runner(topology, { wallTickMs: 50 });
    await runner.start();
    worker = new ClusterWorkerProcess({
      transport: h.transport,
      codec: h.codec,
      log: h.logger,
      metrics: new Registry(),
      appId: "c",
      partitions: 2,
      workerId: "phi2-a",
      tier: "phi2",
      capabilities: {
        model: "phi2",
        paramsB: 2.7,
        memoryGb: 8,
        formats: ["gguf"],
        gpu: false,
        concurrency: 1,
      },
      heartbeatMs: 100,
      options: { backend: { kind: "rules", model: "rules on phi2-a" } },
      runner: { maxWaitMs: 50 },
    });
    await worker.start();
    const request = reasoningRequest({ id: "direct-1", tier: "phi2", deadline: Date.now() + 60_000 });
    await h.produceRaw([
      {
        topic: "escalations.phi2",
        key: Buffer.from(request.source),
        value: await h.codec.encode("escalations.phi2", recordTypes.ReasoningRequest, request),
      },
    ]);
    const [rec] = await h.waitForRecords("reasoning.results", 1);
    const result = (await h.codec.decode(
      rec!.topic,
      recordTypes.ReasoningResult,
      rec!.value!,
    )) as ReasoningResult;
    expect(result).toMatchObject({ id: "direct-1", tier: "phi2", model: "rules on phi2-a", error: null });
    expect(worker.stats.answered).toBe(1);
  });

  it("a worker with --dispatcher runs its tier's dispatcher too", { timeout: 60_000 }, async () => {
    h = await runnerHarness();
    worker = new ClusterWorkerProcess({
      transport: h.transport,
      codec: h.codec,
      log: h.logger,
      metrics: new Registry(),
      appId: "d",
      partitions: 2,
      workerId: "solo",
      tier: "deepseek",
      capabilities: {
        model: "deepseek",
        paramsB: 7,
        memoryGb: 24,
        formats: ["gguf"],
        gpu: true,
        concurrency: 2,
      },
      heartbeatMs: 100,
      options: { backend: { kind: "rules", model: "rules on solo" } },
      dispatcher: { tickMs: 50 },
      runner: { maxWaitMs: 50, wallTickMs: 50 },
    });
    await worker.start();
    const request = reasoningRequest({
      id: "solo-1",
      tier: "deepseek",
      deadline: Date.now() + 60_000,
      context: JSON.stringify({ requires: { gpu: true } }),
    });
    await h.produceRaw([
      {
        topic: "escalations.deepseek",
        key: Buffer.from(request.source),
        value: await h.codec.encode("escalations.deepseek", recordTypes.ReasoningRequest, request),
      },
    ]);
    const [rec] = await h.waitForRecords("reasoning.results", 1);
    const result = (await h.codec.decode(
      rec!.topic,
      recordTypes.ReasoningResult,
      rec!.value!,
    )) as ReasoningResult;
    expect(result).toMatchObject({ id: "solo-1", model: "rules on solo", error: null });
    const [assignment] = await h.waitForRecords("workers.deepseek.assignments", 1);
    expect(assignment!.headers["spikemesh.worker"]).toBe("solo");
  });
});
