import { Registry } from "prom-client";
import { expect } from "vitest";
import { silentLogger } from "../../streams/logger.js";
import { LagMonitor } from "../../streams/topology/lag-monitor.js";
import { runnerMetrics } from "../../streams/topology/runner-metrics.js";
import type { Transport } from "../../streams/transport/transport.js";

async function lagOf(registry: Registry): Promise<Record<string, number>> {
  const json = await registry.getSingleMetric("spikemesh_consumer_lag_records")!.get();
  return Object.fromEntries(
    json.values.map((v) => [`${v.labels.group} ${v.labels.topic}/${v.labels.partition}`, v.value]),
  );
}

/**
 * Consumer lag on one transport (embedded log or Kafka): end offset minus committed offset per group
 * and partition, from the first offset for a group that has not committed. `unique` keeps topic and
 * group names apart between runs on a shared broker.
 */
export async function lagScenario(transport: Transport, unique: string): Promise<void> {
  const topic = `lag-${unique}`;
  const fast = `app.fast.${unique}`;
  const idle = `app.idle.${unique}`;
  const admin = transport.admin();
  await admin.createTopics([{ name: topic, partitions: 2 }]);
  const producer = transport.producer();
  try {
    const value = Buffer.from("x");
    await producer.send([
      ...Array.from({ length: 7 }, () => ({ topic, key: null, value, partition: 0 })),
      ...Array.from({ length: 3 }, () => ({ topic, key: null, value, partition: 1 })),
    ]);
    const consumer = transport.consumer({ groupId: fast });
    try {
      await consumer.subscribe([topic]);
      // Kafka assigns partitions on the first polls; commit once both are ours.
      const until = Date.now() + 30_000;
      while (consumer.assignment().length < 2 && Date.now() < until) await consumer.poll({ maxWaitMs: 200 });
      await consumer.commit([
        { topic, partition: 0, offset: 5 },
        { topic, partition: 1, offset: 3 },
      ]);
    } finally {
      await consumer.close();
    }
    const registry = new Registry();
    const monitor = new LagMonitor({
      admin,
      groups: [
        { group: fast, topic },
        { group: idle, topic },
      ],
      metrics: runnerMetrics(registry),
      log: silentLogger(),
      intervalMs: 0,
    });
    await monitor.sample();
    expect(await lagOf(registry)).toEqual({
      [`${fast} ${topic}/0`]: 2,
      [`${fast} ${topic}/1`]: 0,
      [`${idle} ${topic}/0`]: 7,
      [`${idle} ${topic}/1`]: 3,
    });
    await producer.send([{ topic, key: null, value, partition: 1 }]);
    await monitor.sample();
    expect((await lagOf(registry))[`${fast} ${topic}/1`]).toBe(1);
    await monitor.stop();
  } finally {
    await producer.close();
  }
}
