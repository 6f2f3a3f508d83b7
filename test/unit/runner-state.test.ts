import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { recordTypes, type TelemetryEvent } from "../../schemas/index.js";
import { decodeStoreValue } from "../../streams/state/kv-store.js";
import type { ProcessorSpec } from "../../streams/topology/processor.js";
import type { Guarantee } from "../../streams/topology/runner.js";
import { changelogTopic, type Topology } from "../../streams/topology/topology.js";
import { type RunnerHarness, runnerHarness, sample } from "./runner-harness.js";

/**
 * Counts samples per source in a store and forwards the running count as `value`. A sample with
 * metric "reset" deletes the source's count (a changelog tombstone) and forwards -1.
 */
function counterSpec(onProcess: () => void): ProcessorSpec<TelemetryEvent, { out: TelemetryEvent }, object> {
  return {
    name: "counter",
    input: recordTypes.TelemetryEvent,
    outputs: { out: recordTypes.TelemetryEvent },
    stores: ["counts"],
    options: z.object({}),
    create: () => ({
      process(rec, ctx) {
        onProcess();
        const counts = ctx.store<number>("counts");
        const source = rec.value.source;
        let value = -1;
        if (rec.value.metric === "reset") counts.delete(source);
        else {
          value = (counts.get(source) ?? 0) + 1;
          counts.put(source, value);
        }
        ctx.forward("out", {
          key: rec.key,
          value: { ...rec.value, value },
          timestampMs: rec.timestampMs,
          headers: {},
        });
      },
    }),
  };
}

const SOURCES = ["a", "b", "c", "d"];

describe.each<Guarantee>(["at_least_once", "exactly_once"])("TopologyRunner stores (%s)", (guarantee) => {
  let h: RunnerHarness;
  beforeEach(async () => {
    h = await runnerHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("restores a store from its changelog when the topology restarts in a new process", async () => {
    const topology = (onProcess: () => void = () => undefined): Topology => ({
      appId: "app",
      defaultPartitions: 2,
      nodes: [{ spec: counterSpec(onProcess), input: "in", outputs: { out: "out" } }],
    });
    const lastCounts = async (): Promise<Map<string, number[]>> => {
      const bySource = new Map<string, number[]>();
      for (const rec of await h.readAll("out")) {
        const v = (await h.codec.decode("out", recordTypes.TelemetryEvent, rec.value!)) as TelemetryEvent;
        bySource.set(v.source, [...(bySource.get(v.source) ?? []), v.value]);
      }
      return bySource;
    };

    const first = h.runner(topology(), { guarantee });
    await first.start();
    const firstRun = Array.from({ length: 40 }, (_, i) => sample(i, SOURCES[i % 4]));
    await h.produce("in", [...firstRun, { ...sample(40, "d"), metric: "reset" }]);
    await h.waitForRecords("out", 41);
    await first.stop();

    const changelog = changelogTopic("app", topology().nodes[0]!, "counts");
    const [description] = await h.transport.admin().describeTopics([changelog]);
    expect(description!.cleanupPolicy).toBe("compact");
    expect(description!.partitions).toHaveLength(2);

    // A new process: nothing survives but the data dir.
    await h.reopen();
    let processed = 0;
    const second = h.runner(
      topology(() => {
        processed++;
      }),
      { guarantee },
    );
    await second.start();
    await h.produce(
      "in",
      SOURCES.map((s, i) => sample(100 + i, s)),
    );
    await h.waitForRecords("out", 45);
    await second.stop();

    expect(processed).toBe(4);
    const counts = await lastCounts();
    expect(Object.fromEntries([...counts].map(([s, values]) => [s, values.slice(-1)[0]]))).toEqual({
      a: 11,
      b: 11,
      c: 11,
      d: 1,
    });
    expect(counts.get("a")).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));

    // Each changelog partition holds the keys of its input partition, latest value last.
    const latest = new Map<string, number | undefined>();
    const partitionOf = new Map<string, number>();
    for (const rec of await h.readAll(changelog)) {
      const key = rec.key!.toString();
      latest.set(key, decodeStoreValue<number>(rec.value));
      partitionOf.set(key, rec.partition);
    }
    expect(Object.fromEntries(latest)).toEqual({ a: 11, b: 11, c: 11, d: 1 });
    for (const rec of await h.readAll("in")) {
      const source = rec.key!.toString();
      expect(partitionOf.get(source), `changelog partition of ${source}`).toBe(rec.partition);
    }
  });
});
