import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { recordTypes } from "../../schemas/index.js";
import type { OutgoingRecord } from "../../streams/transport/transport.js";
import { killIfRunning } from "../unit/helpers/crash-harness.js";
import { sample } from "../unit/runner-harness.js";
import { type Child, exited, startChild } from "./helpers/child-process.js";
import { type GroupMember, type KafkaHarness, kafkaHarness } from "./helpers/kafka-harness.js";

const CHILD = join(import.meta.dirname, "helpers/eos-child.ts");
const N = 20_000;
const SOURCES = Array.from({ length: 32 }, (_, i) => `host-${i}`);

/** Count, sum and SHA-256 of the sorted sequence numbers: equal only for the same multiset. */
function checksum(seqs: number[]): { count: number; sum: number; sha256: string } {
  const sorted = [...seqs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    sum: sorted.reduce((s, x) => s + x, 0),
    sha256: createHash("sha256").update(sorted.join(",")).digest("hex"),
  };
}

let h: KafkaHarness;
let children: ChildProcess[] = [];
beforeEach(async () => {
  h = await kafkaHarness();
});
afterEach(async () => {
  for (const child of children) await killIfRunning(child);
  children = [];
  await h.close();
});

it("three instances of a processor in one consumer group: one is SIGKILLed mid-transaction, the other two finish the work with nothing lost or doubled", async () => {
  const input = h.name("scale-in");
  const output = h.name("scale-out");
  const appId = h.name("scale");
  await h.admin.createTopics([
    { name: input, partitions: 4 },
    { name: output, partitions: 4 },
  ]);
  const group = `${appId}.echo`;
  const args = [h.brokers, h.registryUrl, appId, input, output];
  // Three processes running the echo topology (exactly-once) in one group; the third hangs with an
  // open transaction once it has processed 500 records, and is killed right then.
  const instances: Child[] = [
    startChild(CHILD, args),
    startChild(CHILD, args),
    startChild(CHILD, [...args, "500"]),
  ];
  children = instances.map((c) => c.process);
  for (const c of instances) await c.line(/^started$/, 60_000);
  const members = await h.waitFor(
    "three members to share the four partitions",
    async () => {
      const m = await h.groupMembers(group);
      return m.length === 3 && m.every((x) => (x.assignment[input] ?? []).length > 0) ? m : undefined;
    },
    60_000,
  );
  const owned = (m: GroupMember[]) => m.flatMap((x) => x.assignment[input] ?? []).sort();
  expect(owned(members)).toEqual([0, 1, 2, 3]);

  const records: OutgoingRecord[] = [];
  for (let seq = 0; seq < N; seq++) {
    const value = sample(seq, SOURCES[seq % SOURCES.length]);
    records.push({
      topic: input,
      key: Buffer.from(value.source),
      value: await h.codec.encode(input, recordTypes.TelemetryEvent, value),
      timestampMs: value.ts,
    });
  }
  await h.produceRaw(records);

  const victim = instances[2]!;
  await victim.line(/^open \d+$/, 90_000);
  victim.process.kill("SIGKILL");
  expect(await exited(victim.process)).toEqual({ code: null, signal: "SIGKILL" });

  // The group drops the dead member (session timeout) and the two survivors take its partitions.
  const after = await h.waitFor(
    "two survivors to own all four partitions",
    async () => {
      const m = await h.groupMembers(group);
      return m.length === 2 && owned(m).length === 4 ? m : undefined;
    },
    60_000,
  );
  expect(owned(after)).toEqual([0, 1, 2, 3]);
  const committedTotal = async () =>
    (await h.admin.fetchCommittedOffsets(group, input)).reduce((n, o) => n + o.offset, 0);
  await h
    .waitFor(
      "the survivors to commit every input record",
      async () => ((await committedTotal()) === N ? true : undefined),
      90_000,
    )
    .catch((err: Error) => {
      throw new Error(`${err.message}\n${instances[0]!.output()}\n${instances[1]!.output()}`);
    });
  for (const c of instances.slice(0, 2)) {
    c.process.kill("SIGTERM");
    expect(await exited(c.process)).toEqual({ code: 0, signal: null });
  }

  const visible = await h.seqs(await h.readToEnd(output, { readCommitted: true, ms: 60_000 }));
  expect(checksum(visible)).toEqual(checksum(Array.from({ length: N }, (_, i) => i)));
  // The kill left an open transaction's records on the broker, which read_committed readers skip.
  const everything = await h.readToEnd(output, { readCommitted: false, ms: 60_000 });
  expect(everything.length).toBeGreaterThan(N);
}, 240_000);
