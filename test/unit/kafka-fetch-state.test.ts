import { describe, expect, it } from "vitest";
import { FetchBuffers } from "../../streams/kafka/fetch-buffer.js";
import { GroupAssignment } from "../../streams/kafka/group-assignment.js";
import { fromKafkaError } from "../../streams/kafka/kafka-errors.js";
import { chunkBySize } from "../../streams/kafka/kafka-records.js";
import type { IncomingRecord } from "../../streams/transport/transport.js";

const rec = (partition: number, offset: number): IncomingRecord => ({
  topic: "t",
  partition,
  offset,
  key: null,
  value: Buffer.alloc(10),
  headers: {},
  timestampMs: 0,
});

describe("FetchBuffers", () => {
  it("fills to full, drains below half, skips refetched offsets, and rotates between partitions", () => {
    const b = new FetchBuffers({ maxRecords: 4, maxBytes: 1 << 20 });
    b.append(
      "t/0",
      [0, 1, 2, 3].map((o) => rec(0, o)),
      4,
    );
    b.append(
      "t/0",
      [2, 3, 4].map((o) => rec(0, o)),
      5,
    );
    expect(b.count("t/0")).toBe(5);
    expect(b.isFull("t/0")).toBe(true);
    b.append("t/1", [rec(1, 0)], 1);
    const taken: string[] = [];
    const first = b.takeFrom(["t/0", "t/1"], 3, (k) => taken.push(k));
    expect(first.map((r) => `${r.partition}@${r.offset}`)).toEqual(["0@0", "0@1", "0@2"]);
    expect(b.isLow("t/0")).toBe(true);
    const second = b.takeFrom(["t/0", "t/1"], 10, (k) => taken.push(k));
    expect(second.map((r) => `${r.partition}@${r.offset}`)).toEqual(["1@0", "0@3", "0@4"]);
    expect(taken).toEqual(["t/0", "t/1", "t/0"]);
    b.reset("t/0", 2);
    expect(b.count("t/0")).toBe(0);
    expect(b.fetchPosition("t/0")).toBe(2);
  });
});

describe("GroupAssignment", () => {
  it("revokes what left at once and assigns what came only after the first fetch", () => {
    const g = new GroupAssignment();
    g.joined({ t: [0, 1] });
    expect(g.toAssign()).toEqual([]);
    expect(g.fetched()).toBe(true);
    g.claimed(g.toAssign());
    expect(g.ownedPartitions()).toEqual([
      { topic: "t", partition: 0 },
      { topic: "t", partition: 1 },
    ]);
    g.rebalancing();
    expect(g.deliverable()).toEqual([]);
    expect(g.toRevoke()).toEqual([]);
    g.joined({ t: [1, 2] });
    expect(g.toRevoke()).toEqual([{ topic: "t", partition: 0 }]);
    g.released(g.toRevoke());
    expect(g.deliverable()).toEqual(["t/1"]);
    expect(g.toAssign()).toEqual([]);
    g.fetched();
    expect(g.toAssign()).toEqual([{ topic: "t", partition: 2 }]);
  });

  it("makes the caller let go of a partition that left and came back between two polls", () => {
    const g = new GroupAssignment();
    g.joined({ t: [0] });
    g.fetched();
    g.claimed(g.toAssign());
    g.joined({ t: [] });
    g.joined({ t: [0] });
    expect(g.deliverable()).toEqual([]);
    expect(g.toRevoke()).toEqual([{ topic: "t", partition: 0 }]);
    g.released(g.toRevoke());
    g.fetched();
    expect(g.toAssign()).toEqual([{ topic: "t", partition: 0 }]);
  });
});

describe("Kafka helpers", () => {
  it("maps kafkajs errors to codes by type and name", () => {
    const unknown = {
      name: "KafkaJSProtocolError",
      type: "UNKNOWN_TOPIC_OR_PARTITION",
      retriable: true,
      message: "x",
    };
    expect(fromKafkaError(unknown, "describing")).toMatchObject({ code: "TOPIC_UNKNOWN", retriable: false });
    const retries = {
      name: "KafkaJSNumberOfRetriesExceeded",
      message: "gave up",
      cause: { name: "KafkaJSConnectionError", message: "ECONNREFUSED" },
    };
    expect(fromKafkaError(retries, "sending")).toMatchObject({ code: "TRANSIENT", retriable: true });
    expect(fromKafkaError({ name: "KafkaJSNonRetriableError", message: "bad" }, "x").code).toBe("INVARIANT");
  });

  it("maps a commit refused because the group moved on (seen when a member leaves mid-commit) to retriable", () => {
    for (const type of ["ILLEGAL_GENERATION", "REBALANCE_IN_PROGRESS", "UNKNOWN_MEMBER_ID"]) {
      // kafkajs wraps the protocol error once it stops retrying, as in the runner's log.
      const refused = {
        name: "KafkaJSNonRetriableError",
        message: "Specified group generation id is not valid",
        cause: { name: "KafkaJSProtocolError", type, retriable: false, message: "refused" },
      };
      expect(fromKafkaError(refused, "committing offsets")).toMatchObject({
        code: "TRANSIENT",
        retriable: true,
      });
    }
  });

  it("chunks by size, keeping order and giving an oversized item its own chunk", () => {
    expect(chunkBySize([1, 2, 3, 4], [100, 100, 500, 100], 300)).toEqual([[1, 2], [3], [4]]);
  });
});
