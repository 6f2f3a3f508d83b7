import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  Consumer,
  ConsumerOptions,
  ProducerOptions,
  TopicPartition,
  Transport,
} from "../../streams/transport/transport.js";
import {
  deferred,
  echoSpec,
  metricTotal,
  type RunnerHarness,
  runnerHarness,
  sample,
  within,
} from "./runner-harness.js";

type ConsumerEvent =
  | { kind: "poll"; delivered: Map<number, number> }
  | { kind: "pause" | "resume" | "revoking" | "assigned"; partitions: number[] };

/**
 * The embedded transport, with the runner's consumer (of `group`) reporting every poll, pause and
 * resume as it happens: the runner's backpressure seen from the consumer's side.
 */
class ObservedTransport implements Transport {
  readonly kind = "embedded" as const;
  constructor(
    private readonly inner: Transport,
    private readonly group: string,
    private readonly onEvent: (event: ConsumerEvent) => void,
  ) {}

  admin() {
    return this.inner.admin();
  }

  producer(options?: ProducerOptions) {
    return this.inner.producer(options);
  }

  consumer(options: ConsumerOptions): Consumer {
    const consumer = this.inner.consumer(options);
    if (options.groupId !== this.group) return consumer;
    const report = this.onEvent;
    const partitions = (tps: TopicPartition[]) => tps.map((tp) => tp.partition);
    return {
      subscribe: (topics, listener) =>
        consumer.subscribe(topics, {
          onRevoked(tps) {
            report({ kind: "revoking", partitions: partitions(tps) });
            return listener?.onRevoked?.(tps);
          },
          onAssigned(tps) {
            report({ kind: "assigned", partitions: partitions(tps) });
            return listener?.onAssigned?.(tps);
          },
        }),
      async poll(pollOptions) {
        const records = await consumer.poll(pollOptions);
        const delivered = new Map<number, number>();
        for (const r of records) delivered.set(r.partition, (delivered.get(r.partition) ?? 0) + 1);
        report({ kind: "poll", delivered });
        return records;
      },
      commit: (offsets) => consumer.commit(offsets),
      seek: (position) => consumer.seek(position),
      pause(tps) {
        report({ kind: "pause", partitions: partitions(tps) });
        consumer.pause(tps);
      },
      resume(tps) {
        report({ kind: "resume", partitions: partitions(tps) });
        consumer.resume(tps);
      },
      assignment: () => consumer.assignment(),
      close: () => consumer.close(),
    };
  }

  close() {
    return this.inner.close();
  }
}

const MAX_BATCH = 8;
const MAX_QUEUED = 20;

describe("TopologyRunner backpressure", () => {
  let h: RunnerHarness;
  beforeEach(async () => {
    h = await runnerHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("pauses a partition whose processor is slow once its queue passes maxQueuedRecords, and resumes it", async () => {
    const slowRecords = 100;
    const fastRecords = 3 * MAX_BATCH;
    const gate = deferred();
    const gateReached = deferred();
    const started = [0, 0];
    const delivered = [0, 0];
    let firstDelivery = 0;
    let pausedOnce = deferred<{ delivered: number; started: number }>();
    const resumedOnce = deferred<{ delivered: number; started: number }>();
    let pollsWhilePaused = 0;
    const threePollsWhilePaused = deferred();
    let isPaused = false;
    const violations: string[] = [];

    const observed = new ObservedTransport(h.transport, "app.echo", (event) => {
      if (event.kind === "poll") {
        const got = event.delivered.get(0) ?? 0;
        if (isPaused && got > 0) violations.push(`partition 0 delivered ${got} records while paused`);
        if (firstDelivery === 0) firstDelivery = got;
        delivered[0]! += got;
        delivered[1]! += event.delivered.get(1) ?? 0;
        // Queue + the batch in flight: the queue may pass the bound by less than one poll batch.
        if (delivered[0]! - started[0]! > MAX_QUEUED + 2 * MAX_BATCH) {
          violations.push(`partition 0 has ${delivered[0]! - started[0]!} records outstanding`);
        }
        if (isPaused && ++pollsWhilePaused === 3) threePollsWhilePaused.resolve();
        return;
      }
      if (event.kind !== "pause" && event.kind !== "resume") return;
      if (!event.partitions.includes(0)) return;
      const snapshot = { delivered: delivered[0]!, started: started[0]! };
      isPaused = event.kind === "pause";
      if (event.kind === "pause") {
        pausedOnce.resolve(snapshot);
        pausedOnce = deferred();
      } else resumedOnce.resolve(snapshot);
    });
    const firstPause = pausedOnce.promise;

    const topology = {
      appId: "app",
      defaultPartitions: 2,
      nodes: [
        {
          spec: echoSpec(async (rec, ctx) => {
            started[ctx.partition]!++;
            if (ctx.partition === 0 && rec.value.value === 0) {
              gateReached.resolve();
              await gate.promise;
            }
          }),
          input: "in",
          outputs: { out: "out" },
        },
      ],
    };
    const runner = h.runner(topology, {
      transport: observed,
      maxBatchRecords: MAX_BATCH,
      maxQueuedRecords: MAX_QUEUED,
    });
    await h.createTopics(topology);
    await h.produce(
      "in",
      Array.from({ length: slowRecords }, (_, i) => sample(i, "slow")),
      0,
    );
    await h.produce(
      "in",
      Array.from({ length: fastRecords }, (_, i) => sample(1000 + i, "fast")),
      1,
    );
    await runner.start();
    await within(gateReached.promise, "the slow processor to block");

    // Blocked on its first record, partition 0 holds its first poll as the batch in flight, so
    // its queue is exactly what was delivered after that.
    const paused = await within(firstPause, "partition 0 to pause");
    expect(firstDelivery).toBe(MAX_BATCH);
    expect(paused.started).toBe(1);
    const queuedAtPause = paused.delivered - firstDelivery;
    expect(queuedAtPause).toBeGreaterThanOrEqual(MAX_QUEUED);
    expect(queuedAtPause).toBeLessThan(MAX_QUEUED + MAX_BATCH);
    expect(await metricTotal(runner.metrics, "spikemesh_partitions_paused")).toBe(1);

    // The other partition keeps flowing while partition 0 is paused; partition 0 gets nothing more.
    const fastOut = await h.waitForRecords("out", fastRecords);
    expect((await h.seqs(fastOut)).every((s) => s >= 1000)).toBe(true);
    await within(threePollsWhilePaused.promise, "three polls while partition 0 is paused");
    expect(delivered[0]).toBe(paused.delivered);
    expect(started[0]).toBe(1);

    gate.resolve();
    const resumed = await within(resumedOnce.promise, "partition 0 to resume");
    // Resumed right after a batch, below half the bound.
    expect(resumed.delivered - resumed.started).toBeLessThan(MAX_QUEUED / 2);
    expect(resumed.delivered - resumed.started).toBeGreaterThanOrEqual(0);

    const out = await h.waitForRecords("out", slowRecords + fastRecords);
    await runner.stop();
    expect(violations).toEqual([]);
    expect(out).toHaveLength(slowRecords + fastRecords);
    expect(new Set(await h.seqs(out)).size).toBe(slowRecords + fastRecords);
    expect(await metricTotal(runner.metrics, "spikemesh_partitions_paused")).toBe(0);
    expect(await h.committed("app.echo", "in")).toEqual(
      new Map([
        [0, slowRecords],
        [1, fastRecords],
      ]),
    );
  });
});

describe("TopologyRunner rebalance of a paused partition", () => {
  let h: RunnerHarness;
  beforeEach(async () => {
    h = await runnerHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("hands a paused partition over after its batch in flight, and polls it again when it comes back", async () => {
    const total = 100;
    const gate = deferred();
    const gateReached = deferred();
    const paused = deferred();
    const revoking = deferred();
    let reassigned = deferred();
    let seenByA = 0;
    const observed = new ObservedTransport(h.transport, "app.echo", (event) => {
      if (!("partitions" in event) || !event.partitions.includes(1)) return;
      if (event.kind === "pause") paused.resolve();
      if (event.kind === "revoking") revoking.resolve();
      if (event.kind === "assigned") reassigned.resolve();
    });
    const topology = (hook: Parameters<typeof echoSpec>[0]) => ({
      appId: "app",
      defaultPartitions: 2,
      nodes: [{ spec: echoSpec(hook), input: "in", outputs: { out: "out" } }],
    });
    const a = h.runner(
      topology(async (rec, ctx) => {
        if (ctx.partition !== 1) return;
        seenByA++;
        if (rec.value.value === 0) {
          gateReached.resolve();
          await gate.promise;
        }
      }),
      { transport: observed, maxBatchRecords: MAX_BATCH, maxQueuedRecords: MAX_QUEUED },
    );
    const b = h.runner(
      topology(() => undefined),
      { maxBatchRecords: MAX_BATCH },
    );
    await h.createTopics(topology(() => undefined));
    await h.produce(
      "in",
      Array.from({ length: total }, (_, i) => sample(i, "moving")),
      1,
    );
    await a.start();
    await within(gateReached.promise, "runner A to block on partition 1");
    await within(paused.promise, "runner A to pause partition 1");
    reassigned = deferred();

    // B joins: range assignment gives it partition 1, which A must first finish and release.
    await b.start();
    await within(revoking.promise, "runner A to revoke partition 1");
    gate.resolve();
    const out = await h.waitForRecords("out", total);
    expect((await h.seqs(out)).sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i));
    // A finished only its batch in flight; B read the rest from A's commit.
    expect(seenByA).toBe(MAX_BATCH);

    await b.stop();
    await within(reassigned.promise, "partition 1 to come back to runner A");
    await h.produce("in", [sample(total, "moving")], 1);
    const after = await h.waitForRecords("out", total + 1);
    await a.stop();
    expect((await h.seqs(after)).filter((s) => s === total)).toHaveLength(1);
    expect(seenByA).toBe(MAX_BATCH + 1);
    expect(await h.committed("app.echo", "in")).toEqual(new Map([[1, total + 1]]));
  });
});
