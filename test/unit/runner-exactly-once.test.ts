import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { recordTypes, type TelemetryEvent } from "../../schemas/index.js";
import { SpikemeshError } from "../../streams/errors.js";
import type { ProcessorSpec } from "../../streams/topology/processor.js";
import type { Guarantee } from "../../streams/topology/runner.js";
import { changelogTopic, type Topology } from "../../streams/topology/topology.js";
import type {
  Consumer,
  ConsumerOptions,
  Producer,
  ProducerOptions,
  Transaction,
  Transport,
} from "../../streams/transport/transport.js";
import { metricTotal, type RunnerHarness, runnerHarness, sample, within } from "./runner-harness.js";

const GROUP = "app.tally";
const POISON = 3;

/** Records each sample in a store and forwards it; sample 3 is dead-lettered. */
function tallySpec(
  onProcess: () => void = () => undefined,
): ProcessorSpec<TelemetryEvent, { out: TelemetryEvent }, object> {
  return {
    name: "tally",
    input: recordTypes.TelemetryEvent,
    outputs: { out: recordTypes.TelemetryEvent },
    stores: ["seen"],
    options: z.object({}),
    create: () => ({
      process(rec, ctx) {
        onProcess();
        if (rec.value.value === POISON) throw new SpikemeshError("RECORD_INVALID", "poison sample");
        ctx.store<boolean>("seen").put(String(rec.value.value), true);
        ctx.forward("out", { key: rec.key, value: rec.value, timestampMs: rec.timestampMs, headers: {} });
      },
    }),
  };
}

function topology(onProcess?: () => void, partitions = 1): Topology {
  return {
    appId: "app",
    defaultPartitions: partitions,
    nodes: [{ spec: tallySpec(onProcess), input: "in", outputs: { out: "out" } }],
  };
}

const crashOnCall = (what: string) =>
  new SpikemeshError("TRANSIENT", `${what} failed: the process died here`, { retriable: true });

/**
 * The embedded transport with one injected fault in the runner's commit path: the `failAt`-th
 * offset commit of group `app.tally` (at-least-once) or the `failAt`-th transaction commit
 * (exactly-once) throws, as if the process died at that point.
 */
class FaultyTransport implements Transport {
  readonly kind = "embedded" as const;
  offsetCommits = 0;
  txCommits = 0;

  constructor(
    private readonly inner: Transport,
    private readonly failAt: number,
  ) {}

  admin() {
    return this.inner.admin();
  }

  producer(options?: ProducerOptions): Producer {
    const producer = this.inner.producer(options);
    if (options?.transactionalId === undefined) return producer;
    const self = this;
    return {
      send: (records) => producer.send(records),
      close: () => producer.close(),
      async transaction(): Promise<Transaction> {
        const tx = await producer.transaction();
        return {
          send: (records) => tx.send(records),
          sendOffsets: (group, offsets) => tx.sendOffsets(group, offsets),
          abort: () => tx.abort(),
          async commit() {
            if (++self.txCommits === self.failAt) throw crashOnCall("transaction commit");
            await tx.commit();
          },
        };
      },
    };
  }

  consumer(options: ConsumerOptions): Consumer {
    const consumer = this.inner.consumer(options);
    if (options.groupId !== GROUP) return consumer;
    const self = this;
    return {
      subscribe: (topics, listener) => consumer.subscribe(topics, listener),
      poll: (pollOptions) => consumer.poll(pollOptions),
      async commit(offsets) {
        if (++self.offsetCommits === self.failAt) throw crashOnCall("offset commit");
        await consumer.commit(offsets);
      },
      seek: (position) => consumer.seek(position),
      pause: (tps) => consumer.pause(tps),
      resume: (tps) => consumer.resume(tps),
      assignment: () => consumer.assignment(),
      close: () => consumer.close(),
    };
  }

  close() {
    return this.inner.close();
  }
}

describe("TopologyRunner exactly-once on the embedded log", () => {
  let h: RunnerHarness;
  beforeEach(async () => {
    h = await runnerHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it.each<[Guarantee, number]>([
    ["exactly_once", 0],
    ["at_least_once", 8],
  ])(
    "%s: a failure while committing batch 3 leaves %i duplicates after the restart",
    async (guarantee, duplicates) => {
      const n = 40;
      const faulty = new FaultyTransport(h.transport, 3);
      // reconnectWithinMs 0: the failure crashes the node, as if the process died right there.
      const crashing = h.runner(topology(), {
        guarantee,
        transport: faulty,
        maxBatchRecords: 8,
        reconnectWithinMs: 0,
      });
      await h.createTopics(topology());
      await h.produce(
        "in",
        Array.from({ length: n }, (_, i) => sample(i)),
      );
      await crashing.start();
      await expect(within(crashing.crashed, "the commit of batch 3 to fail")).rejects.toThrow(/process died/);
      await crashing.stop();
      expect(guarantee === "exactly_once" ? faulty.offsetCommits : faulty.txCommits).toBe(0);

      // Batches 1 and 2 are committed; of batch 3, exactly-once shows nothing, at-least-once its outputs.
      expect(await h.committed(GROUP, "in")).toEqual(new Map([[0, 16]]));
      const visible = guarantee === "exactly_once" ? 16 : 24;
      const expectedSeqs = (end: number) =>
        Array.from({ length: end }, (_, i) => i).filter((s) => s !== POISON);
      expect(await h.seqs(await h.readAll("out"))).toEqual(expectedSeqs(visible));
      const changelog = changelogTopic("app", topology().nodes[0]!, "seen");
      expect((await h.readAll(changelog)).map((r) => Number(r.key!.toString()))).toEqual(
        expectedSeqs(visible),
      );
      expect(await h.readAll("in.dlq")).toHaveLength(1);

      let reprocessed = 0;
      const restarted = h.runner(
        topology(() => {
          reprocessed++;
        }),
        { guarantee, maxBatchRecords: 8 },
      );
      await restarted.start();
      await h.waitForRecords("out", n - 1 + duplicates);
      await restarted.stop();
      expect(reprocessed).toBe(n - 16);
      const seqs = await h.seqs(await h.readAll("out"));
      expect(seqs).toHaveLength(n - 1 + duplicates);
      expect(new Set(seqs)).toEqual(new Set(expectedSeqs(n)));
      expect(await h.committed(GROUP, "in")).toEqual(new Map([[0, n]]));
      // The poison record was committed with batch 1, so it is dead-lettered once either way.
      expect(await h.readAll("in.dlq")).toHaveLength(1);
    },
  );

  it.each<[Guarantee, number]>([
    ["exactly_once", 0],
    ["at_least_once", 8],
  ])(
    "%s: after a transient failure committing batch 3 the node reconnects by itself and finishes with %i duplicates",
    async (guarantee, duplicates) => {
      const n = 40;
      const faulty = new FaultyTransport(h.transport, 3);
      const runner = h.runner(topology(), { guarantee, transport: faulty, maxBatchRecords: 8 });
      await h.createTopics(topology());
      await h.produce(
        "in",
        Array.from({ length: n }, (_, i) => sample(i)),
      );
      let crash: unknown = null;
      runner.crashed.catch((err: unknown) => {
        crash = err;
      });
      await runner.start();
      await h.waitForRecords("out", n - 1 + duplicates);
      await within(
        (async () => {
          while ((await h.committed(GROUP, "in")).get(0) !== n) await new Promise((r) => setTimeout(r, 20));
        })(),
        "every input offset to be committed",
      );
      expect(await metricTotal(runner.metrics, "spikemesh_reconnects_total")).toBe(1);
      await runner.stop();
      expect(crash).toBeNull();
      const seqs = await h.seqs(await h.readAll("out"));
      expect(seqs).toHaveLength(n - 1 + duplicates);
      const expected = Array.from({ length: n }, (_, i) => i).filter((s) => s !== POISON);
      expect(new Set(seqs)).toEqual(new Set(expected));
    },
  );

  it("runs two instances of a node side by side; no output is ever visible before its offset is committed", async () => {
    const n = 200;
    const processed = [0, 0];
    const a = h.runner(
      topology(() => {
        processed[0]!++;
      }, 2),
      { guarantee: "exactly_once" },
    );
    const b = h.runner(
      topology(() => {
        processed[1]!++;
      }, 2),
      { guarantee: "exactly_once" },
    );
    await a.start();
    await b.start();

    // Watch the output as it appears: every output's input must already be committed.
    const early: string[] = [];
    const keyPartition = new Map<string, number>();
    const inputOffset = new Map<number, { partition: number; offset: number }>();
    const watcher = h.transport.consumer({ groupId: "watcher", autoOffsetReset: "earliest" });
    await watcher.subscribe(["out"]);
    const sources = ["s0", "s1", "s2", "s3", "s4", "s5"];
    await h.produce(
      "in",
      Array.from({ length: n }, (_, i) => sample(i, sources[i % sources.length])),
    );
    for (const rec of await h.readAll("in")) {
      keyPartition.set(rec.key!.toString(), rec.partition);
      const [seq] = await h.seqs([rec]);
      inputOffset.set(seq!, { partition: rec.partition, offset: rec.offset });
    }
    let seen = 0;
    const deadline = performance.now() + 15_000;
    while (seen < n - 1 && performance.now() < deadline) {
      const batch = await watcher.poll({ maxRecords: 1000, maxWaitMs: 200 });
      if (batch.length === 0) continue;
      const committed = await h.committed(GROUP, "in");
      for (const seq of await h.seqs(batch)) {
        const input = inputOffset.get(seq)!;
        if ((committed.get(input.partition) ?? 0) <= input.offset) {
          early.push(
            `sample ${seq} visible before offset ${input.offset} of partition ${input.partition} was committed`,
          );
        }
      }
      seen += batch.length;
    }
    await watcher.close();
    await Promise.race([a.crashed, b.crashed, Promise.resolve()]);
    await a.stop();
    await b.stop();

    expect(early).toEqual([]);
    expect(seen).toBe(n - 1);
    expect(processed[0]).toBeGreaterThan(0);
    expect(processed[1]).toBeGreaterThan(0);
    expect(new Set(keyPartition.values()).size).toBe(2);
    const seqs = await h.seqs(await h.readAll("out"));
    expect(seqs).toHaveLength(n - 1);
    expect(new Set(seqs).size).toBe(n - 1);
  });
});
