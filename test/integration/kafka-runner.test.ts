import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SpikemeshError } from "../../streams/errors.js";
import { DLQ_HEADERS } from "../../streams/topology/dlq.js";
import { groupId, type Topology } from "../../streams/topology/topology.js";
import { type EchoHook, echoSpec, sample } from "../unit/runner-harness.js";
import { type GroupMember, type KafkaHarness, kafkaHarness } from "./helpers/kafka-harness.js";

/** What one runner instance processed: partition and sequence number per record. */
type Seen = { partition: number; seq: number }[];

const SOURCES = Array.from({ length: 16 }, (_, i) => `host-${i}`);

/** Samples `from` … `to - 1`, spread over 16 sources (so over every partition of a small topic). */
function samples(from: number, to: number) {
  return Array.from({ length: to - from }, (_, i) => sample(from + i, SOURCES[(from + i) % SOURCES.length]));
}

function recording(seen: Seen): EchoHook {
  return (rec, ctx) => {
    seen.push({ partition: ctx.partition, seq: rec.value.value });
  };
}

describe("TopologyRunner on a real Kafka broker", () => {
  let h: KafkaHarness;
  let input: string;
  let output: string;
  let topology: (hook: EchoHook) => Topology;
  beforeEach(async () => {
    h = await kafkaHarness();
    input = h.name("in");
    output = h.name("out");
    const appId = h.name("app");
    topology = (hook) => ({
      appId,
      defaultPartitions: 4,
      nodes: [{ spec: echoSpec(hook), input, outputs: { out: output } }],
    });
  });
  afterEach(async () => {
    await h.close();
  });

  const partitionsOf = (seen: Seen) => [...new Set(seen.map((s) => s.partition))].sort();
  const distinctSeqs = async (n: number) => {
    const records = await h.readUntil(output, (got) => got.length >= n);
    return { records, seqs: new Set(await h.seqs(records)) };
  };

  it("two instances of a processor split the partitions, and one takes all of them when the other leaves", async () => {
    const seenA: Seen = [];
    const seenB: Seen = [];
    const a = h.runner(topology(recording(seenA)), { transport: h.transport({ clientId: "instance-a" }) });
    const b = h.runner(topology(recording(seenB)), { transport: h.transport({ clientId: "instance-b" }) });
    const group = groupId(topology(() => undefined).appId, topology(() => undefined).nodes[0]!);
    await a.start();
    await b.start();
    const owned = (members: GroupMember[], clientId: string) =>
      (members.find((m) => m.clientId === clientId)?.assignment[input] ?? []).sort();
    const split = await h.waitFor("both instances to own partitions", async () => {
      const members = await h.groupMembers(group);
      const [pa, pb] = [owned(members, "instance-a"), owned(members, "instance-b")];
      return pa.length > 0 && pb.length > 0 ? { a: pa, b: pb } : undefined;
    });
    expect([...split.a, ...split.b].sort()).toEqual([0, 1, 2, 3]);

    await h.produce(input, samples(0, 400));
    const first = await distinctSeqs(400);
    expect(first.seqs.size).toBe(400);
    // Each instance processed exactly the partitions the group gave it.
    expect(partitionsOf(seenA)).toEqual(split.a);
    expect(partitionsOf(seenB)).toEqual(split.b);
    expect(seenA.length + seenB.length).toBe(400);

    // B leaves while new records arrive: A gets every partition and nothing is lost.
    const produced = h.produce(input, samples(400, 800));
    await b.stop();
    await produced;
    await h.waitFor("instance-a to own all partitions", async () => {
      const members = await h.groupMembers(group);
      return members.length === 1 && owned(members, "instance-a").length === 4 ? true : undefined;
    });
    await h.produce(input, samples(800, 1000));
    await h.waitFor("every record to be processed", async () =>
      new Set([...seenA, ...seenB].map((s) => s.seq)).size === 1000 ? true : undefined,
    );
    await a.stop();
    const seqs = await h.seqs(await h.readToEnd(output));
    expect(new Set(seqs)).toEqual(new Set(Array.from({ length: 1000 }, (_, i) => i)));
    expect(partitionsOf(seenA.filter((s) => s.seq >= 800))).toEqual([0, 1, 2, 3]);
    // At-least-once: records B had in flight may be processed again by A, never dropped.
    expect(seqs.length).toBe(seenA.length + seenB.length);
    const committed = await h.admin.fetchCommittedOffsets(group, input);
    expect(committed.reduce((n, o) => n + o.offset, 0)).toBe(1000);
  });

  it("a restarted processor resumes from its committed offsets without reprocessing", async () => {
    const first: Seen = [];
    const before = h.runner(topology(recording(first)));
    await before.start();
    await h.produce(input, samples(0, 300));
    await distinctSeqs(300);
    await before.stop();
    const group = groupId(topology(() => undefined).appId, topology(() => undefined).nodes[0]!);
    const committed = await h.admin.fetchCommittedOffsets(group, input);
    expect(committed.reduce((n, o) => n + o.offset, 0)).toBe(300);

    await h.produce(input, samples(300, 500));
    const second: Seen = [];
    // A new transport: a new process as far as the broker can tell.
    const after = h.runner(topology(recording(second)));
    await after.start();
    const { records, seqs } = await distinctSeqs(500);
    await after.stop();
    expect(second.map((s) => s.seq).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 200 }, (_, i) => 300 + i),
    );
    expect(first).toHaveLength(300);
    expect(seqs.size).toBe(500);
    expect((await h.readToEnd(output)).length).toBe(records.length);
  });

  it("dead letters land on Kafka with the original bytes and the error and source headers", async () => {
    const runner = h.runner(
      topology((rec) => {
        if (rec.value.value === 7) throw new SpikemeshError("RECORD_INVALID", "sample 7 is poison");
      }),
    );
    await runner.start();
    const garbage = Buffer.from("definitely not avro");
    const [bad] = await h.produceRaw([
      {
        topic: input,
        key: Buffer.from("host-x"),
        value: garbage,
        headers: { "trace-id": "t-42" },
        timestampMs: 1_700_000_000_123,
      },
    ]);
    const [poison] = await h.produce(input, [sample(7, "host-y")]);
    await h.produce(input, [sample(8, "host-y")]);
    await h.readUntil(output, (records) => records.length >= 1);
    const dead = await h.readUntil(`${input}.dlq`, (records) => records.length >= 2);
    await runner.stop();

    expect(dead).toHaveLength(2);
    const garbageDlq = dead.find((r) => r.key?.toString() === "host-x")!;
    expect(garbageDlq.value).toEqual(garbage);
    expect(garbageDlq.partition).toBe(bad!.partition);
    expect(garbageDlq.timestampMs).toBe(1_700_000_000_123);
    expect(garbageDlq.headers).toMatchObject({
      "trace-id": "t-42",
      [DLQ_HEADERS.code]: "DECODE_FAILED",
      [DLQ_HEADERS.processor]: "echo",
      [DLQ_HEADERS.topic]: input,
      [DLQ_HEADERS.partition]: String(bad!.partition),
      [DLQ_HEADERS.offset]: String(bad!.offset),
      [DLQ_HEADERS.timestamp]: "1700000000123",
    });
    expect(garbageDlq.headers[DLQ_HEADERS.message]).toMatch(/magic|wire|decode/i);

    const poisonDlq = dead.find((r) => r.key?.toString() === "host-y")!;
    expect(poisonDlq.headers).toMatchObject({
      [DLQ_HEADERS.code]: "RECORD_INVALID",
      [DLQ_HEADERS.topic]: input,
      [DLQ_HEADERS.partition]: String(poison!.partition),
      [DLQ_HEADERS.offset]: String(poison!.offset),
    });
    expect(poisonDlq.headers[DLQ_HEADERS.message]).toContain("sample 7 is poison");
    expect(await h.seqs([poisonDlq])).toEqual([7]);
    expect(await h.seqs(await h.readToEnd(output))).toEqual([8]);
  });
});
