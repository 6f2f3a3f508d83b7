/**
 * The Kafka bench's baselines: consume → produce passthrough written directly against each
 * client's own API, the way a user of that client would, with what the spikemesh runner also
 * does per batch: read from the beginning with a fresh group, produce the batch's records with
 * an idempotent producer (acks=all) to the same partition of the output topic, then commit the
 * batch's offsets. Batches are at most `batchSize` records, as the runner's.
 */

import type { Readable } from "node:stream";
import {
  type Message,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Consumer as PltConsumer,
  Producer as PltProducer,
} from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";

export interface PassthroughOptions {
  brokers: string[];
  input: string;
  output: string;
  groupId: string;
  /** `done` resolves once this many records went through. */
  expected: number;
  batchSize: number;
  /** How long a fetch waits at the broker when there is no data, ms. */
  maxWaitTimeMs: number;
}

/** A running passthrough: monotonic times (performance.now()) of the first record and of the last. */
export interface PassthroughRun {
  firstRecordAt: Promise<number>;
  done: Promise<number>;
  stop(): Promise<void>;
}

export type PassthroughFactory = (options: PassthroughOptions) => Promise<PassthroughRun>;

function progress(expected: number) {
  let first!: (t: number) => void;
  let done!: (t: number) => void;
  const firstRecordAt = new Promise<number>((r) => {
    first = r;
  });
  const finished = new Promise<number>((r) => {
    done = r;
  });
  let count = 0;
  return {
    firstRecordAt,
    done: finished,
    started: () => first(performance.now()),
    add(n: number) {
      count += n;
      if (count >= expected) done(performance.now());
    },
  };
}

/** kafkajs: `eachBatch` → `producer.send` per chunk → `commitOffsets`. */
export const kafkajsPassthrough: PassthroughFactory = async (o) => {
  const kafka = new Kafka({ clientId: "bench-raw-kafkajs", brokers: o.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: o.groupId,
    maxWaitTimeInMs: o.maxWaitTimeMs,
    allowAutoTopicCreation: false,
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topics: [o.input], fromBeginning: true });
  const p = progress(o.expected);
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      p.started();
      for (let i = 0; i < batch.messages.length; i += o.batchSize) {
        const chunk = batch.messages.slice(i, i + o.batchSize);
        await producer.send({
          topic: o.output,
          acks: -1,
          messages: chunk.map((m) => ({
            key: m.key,
            value: m.value,
            timestamp: m.timestamp,
            partition: batch.partition,
            ...(m.headers !== undefined ? { headers: m.headers } : {}),
          })),
        });
        const last = chunk[chunk.length - 1]!.offset;
        resolveOffset(last);
        await consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: String(Number(last) + 1) },
        ]);
        p.add(chunk.length);
      }
      await heartbeat();
    },
  });
  return {
    firstRecordAt: p.firstRecordAt,
    done: p.done,
    stop: async () => {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
};

/**
 * Reads a consume() stream in batches: up to `max` messages of what it has buffered, waiting for
 * at least one ([] once it closed). The 'readable' listener stays attached for the stream's life:
 * the client only keeps fetching while the stream is flowing or has one (paused mode with no
 * listener stops its fetch loop at the first empty fetch).
 */
function batchReader(stream: Readable): (max: number) => Promise<Message[]> {
  let wake: (() => void) | null = null;
  const onEvent = (): void => {
    wake?.();
    wake = null;
  };
  stream.on("readable", onEvent);
  stream.on("close", onEvent);
  return async (max) => {
    for (;;) {
      const out: Message[] = [];
      while (out.length < max) {
        const m = stream.read() as Message | null;
        if (m === null) break;
        out.push(m);
      }
      if (out.length > 0) return out;
      if (stream.destroyed) return [];
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };
}

/** @platformatic/kafka: a `consume()` stream read in batches → `producer.send` → `consumer.commit`. */
export const platformaticPassthrough: PassthroughFactory = async (o) => {
  const base = { clientId: "bench-raw-platformatic", bootstrapBrokers: o.brokers };
  const consumer = new PltConsumer({
    ...base,
    groupId: o.groupId,
    autocommit: false,
    maxWaitTime: o.maxWaitTimeMs,
  });
  const producer = new PltProducer({ ...base, idempotent: true });
  const stream = await consumer.consume({
    topics: [o.input],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    autocommit: false,
  });
  const p = progress(o.expected);
  const nextBatch = batchReader(stream);
  let running = true;
  const loop = (async () => {
    while (running) {
      const batch = await nextBatch(o.batchSize);
      if (batch.length === 0) return;
      p.started();
      await producer.send({
        messages: batch.map((m) => ({
          topic: o.output,
          key: m.key,
          value: m.value,
          headers: m.headers,
          timestamp: m.timestamp,
          partition: m.partition,
        })),
      });
      const next = new Map<number, bigint>();
      for (const m of batch) next.set(m.partition, m.offset + 1n);
      await consumer.commit({
        offsets: [...next].map(([partition, offset]) => ({
          topic: o.input,
          partition,
          offset,
          leaderEpoch: -1,
        })),
      });
      p.add(batch.length);
    }
  })();
  return {
    firstRecordAt: p.firstRecordAt,
    done: p.done,
    stop: async () => {
      running = false;
      await stream.close();
      await loop.catch(() => undefined);
      await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
      await producer.close();
    },
  };
};
