import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Feedback, recordTypes } from "../../schemas/index.js";
import { SpikemeshError } from "../../streams/errors.js";
import { DLQ_HEADERS } from "../../streams/topology/dlq.js";
import type { Topology } from "../../streams/topology/topology.js";
import {
  type EchoHook,
  echoSpec,
  metricTotal,
  type RunnerHarness,
  runnerHarness,
  sample,
  totalCommitted,
  within,
} from "./runner-harness.js";

const GROUP = "app.echo";

function topology(hook?: EchoHook, partitions = 1): Topology {
  return {
    appId: "app",
    defaultPartitions: partitions,
    nodes: [{ spec: echoSpec(hook), input: "in", outputs: { out: "out" } }],
  };
}

describe("TopologyRunner on the embedded log (at-least-once)", () => {
  let h: RunnerHarness;
  beforeEach(async () => {
    h = await runnerHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("processes N records into N outputs in batches, commits, and a restarted runner skips them", async () => {
    const n = 100;
    const sources = ["host-0", "host-1", "host-2", "host-3", "host-4"];
    let processed = 0;
    const first = h.runner(
      topology(() => {
        processed++;
      }, 2),
    );
    await first.start();
    await h.produce(
      "in",
      Array.from({ length: n }, (_, i) => sample(i, sources[i % sources.length])),
    );
    await h.waitForRecords("out", n);
    await first.stop();

    const out = await h.readAll("out");
    expect((await h.seqs(out)).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(processed).toBe(n);
    const committed = await h.committed(GROUP, "in");
    const [input] = await h.transport.admin().describeTopics(["in"]);
    expect(committed).toEqual(new Map(input!.partitions.map((p) => [p.partition, p.highOffset])));
    expect(committed.size).toBe(2);
    expect(totalCommitted(committed)).toBe(n);
    // Batching: one commit per batch of at most maxBatchRecords (8), not one per record.
    const commits = await metricTotal(first.metrics, "spikemesh_commits_total");
    expect(commits).toBeGreaterThanOrEqual(Math.ceil(n / 8));
    expect(commits).toBeLessThan(n / 2);
    expect(await metricTotal(first.metrics, "spikemesh_records_in_total")).toBe(n);
    expect(await metricTotal(first.metrics, "spikemesh_records_out_total")).toBe(n);

    let reprocessed = 0;
    const second = h.runner(
      topology(() => {
        reprocessed++;
      }, 2),
    );
    await second.start();
    await h.produce("in", [sample(n, "host-0")]);
    const after = await h.waitForRecords("out", n + 1);
    await second.stop();
    expect(reprocessed).toBe(1);
    expect((await h.seqs(after)).filter((s) => s === n)).toHaveLength(1);
    expect(after).toHaveLength(n + 1);
    expect(totalCommitted(await h.committed(GROUP, "in"))).toBe(n + 1);
  });

  it("dead-letters undecodable and failing records with the original bytes and error headers, and goes on", async () => {
    let transientFailures = 0;
    const dlqTopology = topology((rec) => {
      const seq = rec.value.value;
      if (seq === 7) throw new SpikemeshError("RECORD_INVALID", "sample 7 is poison");
      if (seq === 8 && transientFailures < 2) {
        transientFailures++;
        throw new SpikemeshError("TRANSIENT", "backend busy", { retriable: true });
      }
      if (seq === 9) throw new SpikemeshError("TIMEOUT", "backend never answers", { retriable: true });
      if (seq === 10) (rec.value as { value: unknown }).value = "not a number";
    });
    const runner = h.runner(dlqTopology, { maxRetries: 3 });
    await h.createTopics(dlqTopology);
    const valid = (seq: number) => h.codec.encode("in", recordTypes.TelemetryEvent, sample(seq));
    const goodBytes = await valid(2);
    const wrongMagic = Buffer.from(goodBytes);
    wrongMagic[0] = 1;
    const unknownId = Buffer.from(goodBytes);
    unknownId.writeInt32BE(32_767, 1);
    const feedback: Feedback = {
      requestId: "r1",
      route: "small",
      tier: "phi2",
      outcome: "USEFUL",
      reward: 1,
      latencyMs: 10,
      ts: 1_700_000_000_000,
    };
    const otherType = await h.codec.encode("feedback", recordTypes.Feedback, feedback);
    const values: (Buffer | null)[] = [
      await valid(0),
      Buffer.from("definitely not avro"),
      wrongMagic,
      unknownId,
      Buffer.from([0, 0, 0]),
      otherType,
      null,
      await valid(7),
      await valid(8),
      await valid(9),
      await valid(10),
      await valid(11),
    ];
    await h.produceRaw(
      values.map((value, offset) => ({
        topic: "in",
        key: Buffer.from("host-a"),
        value,
        headers: { trace: `t${offset}` },
        timestampMs: 1_700_000_000_000 + offset,
      })),
    );
    await runner.start();
    const out = await h.waitForRecords("out", 3);
    const dlq = await h.waitForRecords("in.dlq", 9);
    await runner.stop();

    expect(await h.seqs(out)).toEqual([0, 8, 11]);
    expect(transientFailures).toBe(2);
    const expected: [offset: number, code: string, message: string][] = [
      [1, "DECODE_FAILED", "wrong magic byte 0x64"],
      [2, "DECODE_FAILED", "wrong magic byte 0x01"],
      [3, "DECODE_FAILED", "unknown schema id 32767"],
      [4, "DECODE_FAILED", "truncated record: 3 bytes"],
      [5, "DECODE_FAILED", "cannot be read as spikemesh.TelemetryEvent"],
      [6, "RECORD_INVALID", "null value (tombstone)"],
      [7, "RECORD_INVALID", "SpikemeshError: sample 7 is poison"],
      [9, "TIMEOUT", "SpikemeshError: backend never answers"],
      [10, "ENCODE_FAILED", 'value: "not a number", expected double'],
    ];
    expect(dlq.map((r) => r.offset)).toEqual(expected.map((_, i) => i));
    dlq.forEach((rec, i) => {
      const [offset, code, message] = expected[i]!;
      const { [DLQ_HEADERS.message]: reason, ...headers } = rec.headers;
      expect(headers, `dead letter of offset ${offset}`).toEqual({
        trace: `t${offset}`,
        [DLQ_HEADERS.code]: code,
        [DLQ_HEADERS.processor]: "echo",
        [DLQ_HEADERS.topic]: "in",
        [DLQ_HEADERS.partition]: "0",
        [DLQ_HEADERS.offset]: String(offset),
        [DLQ_HEADERS.timestamp]: String(1_700_000_000_000 + offset),
      });
      expect(reason, `reason of offset ${offset}`).toContain(message);
      expect(rec.key?.toString()).toBe("host-a");
      expect(rec.value).toEqual(values[offset]);
      expect(rec.partition).toBe(0);
    });
    // 2 retries of sample 8 (then it succeeded) and 3 of sample 9 (then it was dead-lettered).
    expect(await metricTotal(runner.metrics, "spikemesh_retries_total")).toBe(5);
    expect(await metricTotal(runner.metrics, "spikemesh_dlq_records_total")).toBe(9);
    expect(await h.committed(GROUP, "in")).toEqual(new Map([[0, values.length]]));
  });

  it("treats a processor's own abort as transient: retried, then dead-lettered, never skipped", async () => {
    let attempts = 0;
    const abortTopology = topology((rec) => {
      if (rec.value.value === 1) {
        attempts++;
        throw new DOMException("deadline passed", "AbortError");
      }
    });
    const runner = h.runner(abortTopology, { maxRetries: 2 });
    await h.createTopics(abortTopology);
    await h.produce("in", [sample(0), sample(1), sample(2)]);
    await runner.start();
    const dlq = await h.waitForRecords("in.dlq", 1);
    const out = await h.waitForRecords("out", 2);
    await runner.stop();
    expect(attempts).toBe(3);
    expect(dlq[0]!.headers[DLQ_HEADERS.offset]).toBe("1");
    expect(dlq[0]!.headers[DLQ_HEADERS.message]).toContain("AbortError: deadline passed");
    expect(await h.seqs(out)).toEqual([0, 2]);
    expect(await h.committed(GROUP, "in")).toEqual(new Map([[0, 3]]));
  });

  it("crashes on an unexpected error without committing or dead-lettering the record", async () => {
    const crashTopology = topology((rec) => {
      if (rec.value.value === 5) throw new TypeError("cannot read properties of undefined");
    });
    const runner = h.runner(crashTopology, { maxBatchRecords: 4 });
    await h.createTopics(crashTopology);
    await h.produce(
      "in",
      Array.from({ length: 8 }, (_, i) => sample(i)),
    );
    await runner.start();
    await expect(within(runner.crashed, "the runner to crash")).rejects.toThrow(TypeError);
    await runner.stop();
    // Batches [0..3] and [4..7]: the first is committed, the second (which holds 5) is not.
    expect(await h.committed(GROUP, "in")).toEqual(new Map([[0, 4]]));
    expect(await h.seqs(await h.readAll("out"))).toEqual([0, 1, 2, 3]);
    expect(await h.readAll("in.dlq")).toEqual([]);
  });
});
