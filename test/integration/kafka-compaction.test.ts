import { afterEach, beforeEach, expect, it } from "vitest";
import {
  applyFeedback,
  feedbackLearnerOptionsSchema,
  feedbackLearnerSpec,
  type RouteState,
} from "../../processors/feedback-learner/index.js";
import { type Feedback, type Outcome, type RouteWeight, recordTypes } from "../../schemas/index.js";
import type { Topology } from "../../streams/topology/topology.js";
import type { IncomingRecord, OutgoingRecord } from "../../streams/transport/transport.js";
import { type KafkaHarness, kafkaHarness } from "./helpers/kafka-harness.js";

let h: KafkaHarness;
beforeEach(async () => {
  h = await kafkaHarness();
});
afterEach(async () => {
  await h.close();
});

const ROUTES = ["cpu>phi2", "cpu>deepseek", "logs>phi2", "logs>rules"];
const UPDATES_PER_ROUTE = 40;
const OUTCOMES: Outcome[] = ["USEFUL", "NOT_USEFUL", "USEFUL", "ERROR", "TIMEOUT"];

function feedback(i: number): Feedback {
  const route = ROUTES[i % ROUTES.length]!;
  return {
    requestId: `req-${i}`,
    route,
    tier: route.split(">")[1]!,
    outcome: OUTCOMES[i % OUTCOMES.length]!,
    reward: 0,
    latencyMs: 100 * (i % 7),
    ts: 1_700_000_000_000 + i * 1000,
  };
}

it("the compacted route-weights topic keeps the last weight of every route after compaction", async () => {
  const input = h.name("feedback");
  const weights = h.name("route-weights");
  // Segments roll every 100 ms and any dirty segment is worth cleaning, so the broker's cleaner
  // compacts within its backoff instead of after the default 7 days of segment.ms. (A small
  // segment.bytes would not do: the broker rejects batches larger than a segment.)
  await h.admin.createTopics([
    {
      name: weights,
      partitions: 1,
      cleanupPolicy: "compact",
      configs: {
        "segment.ms": "100",
        "min.cleanable.dirty.ratio": "0.01",
        "min.compaction.lag.ms": "0",
        "delete.retention.ms": "100",
      },
    },
  ]);
  const topology: Topology = {
    appId: h.name("learner"),
    nodes: [{ spec: feedbackLearnerSpec, input, outputs: { weights } }],
  };
  const runner = h.runner(topology);
  await runner.start();
  const sent = Array.from({ length: ROUTES.length * UPDATES_PER_ROUTE }, (_, i) => feedback(i));
  const records: OutgoingRecord[] = [];
  for (const fb of sent) {
    records.push({
      topic: input,
      key: Buffer.from(fb.route),
      value: await h.codec.encode(input, recordTypes.Feedback, fb),
      timestampMs: fb.ts,
    });
  }
  await h.produceRaw(records);
  const group = `${topology.appId}.${feedbackLearnerSpec.name}`;
  await Promise.race([
    runner.crashed,
    h.waitFor("the learner to commit every feedback", async () => {
      const committed = await h.admin.fetchCommittedOffsets(group, input);
      return committed.reduce((n, o) => n + o.offset, 0) === sent.length ? true : undefined;
    }),
  ]);
  await runner.stop();

  // Expected: the rule applied to each route's feedback in order.
  const params = feedbackLearnerOptionsSchema.parse({});
  const expected = new Map<string, RouteState>();
  for (const fb of sent) {
    expected.set(fb.route, applyFeedback(expected.get(fb.route), { ...fb, tsMs: fb.ts }, params));
  }

  // Each read appends an end marker, which also rolls the active segment so the cleaner can reach
  // every weight; poll until one record per route is left.
  let latest: IncomingRecord[] = [];
  const stored = await h
    .waitFor(
      "compaction to leave one weight per route",
      async () => {
        latest = (await h.readToEnd(weights)).filter((r) => r.value !== null);
        const keys = latest.map((r) => r.key!.toString());
        return keys.length === ROUTES.length && new Set(keys).size === ROUTES.length ? latest : undefined;
      },
      90_000,
    )
    .catch((err: Error) => {
      throw new Error(`${err.message}; last read had ${latest.length} weight records`);
    });
  const [description] = await h.admin.describeTopics([weights]);
  expect(description!.partitions[0]!.highOffset).toBeGreaterThan(sent.length);
  const byRoute = new Map<string, RouteWeight>();
  for (const rec of stored) {
    byRoute.set(
      rec.key!.toString(),
      (await h.codec.decode(weights, recordTypes.RouteWeight, rec.value!)) as RouteWeight,
    );
  }
  for (const route of ROUTES) {
    const want = expected.get(route)!;
    expect(byRoute.get(route)).toEqual({
      route,
      weight: want.weight,
      updates: UPDATES_PER_ROUTE,
      ts: want.lastMs,
    });
  }
}, 120_000);
