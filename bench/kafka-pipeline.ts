/**
 * The spikemesh side of the Kafka bench: the SNN-filter processor under the TopologyRunner, on a
 * Kafka transport, reading the workload topic and writing spikes. It decodes every record through
 * the RegistryCodec, runs the LIF populations, encodes the spikes, checkpoints state to its
 * changelog and commits after each batch.
 */
import { z } from "zod";
import { snnFilterSpec } from "../processors/index.js";
import { recordTypes, type SpikeRecord, type TelemetryEvent } from "../schemas/index.js";
import { silentLogger } from "../streams/logger.js";
import type { RecordCodec } from "../streams/topology/codec.js";
import type { ProcessorSpec } from "../streams/topology/processor.js";
import { type Guarantee, TopologyRunner } from "../streams/topology/runner.js";
import type { Topology } from "../streams/topology/topology.js";
import type {
  Consumer,
  Producer,
  TopicPartitionOffset,
  Transaction,
  Transport,
} from "../streams/transport/transport.js";
import type { PassthroughRun } from "./kafka-raw.js";

/**
 * A processor that drops every record: the runner's own cost (poll, Avro decode through the
 * registry, per-record bookkeeping, commits) without the SNN filter's work.
 */
export const dropAllSpec: ProcessorSpec<TelemetryEvent, { spikes: SpikeRecord }, object> = {
  name: "drop-all",
  input: recordTypes.TelemetryEvent,
  outputs: { spikes: recordTypes.SpikeRecord },
  options: z.object({}),
  create: () => ({ process: () => undefined }),
};

export interface PipelineOptions {
  /** Default: the SNN filter. */
  processor?: "snn-filter" | "drop-all";
  transport: Transport;
  codec: RecordCodec;
  appId: string;
  input: string;
  spikes: string;
  partitions: number;
  /** `done` resolves once the group committed this many input records. */
  expected: number;
  batchSize: number;
  guarantee: Guarantee;
}

/**
 * The transport, with consumers that report the first record they deliver from `topic`, and with
 * every offset commit of `topic` (a consumer's commit, or a transaction's offsets once it
 * committed) reported as it succeeds: the bench learns when the group has committed everything
 * without asking the broker (polling its committed offsets added requests to the side measured).
 */
function observing(
  t: Transport,
  topic: string,
  onFirst: () => void,
  onCommitted: (offsets: TopicPartitionOffset[]) => void,
): Transport {
  const ofTopic = (offsets: TopicPartitionOffset[]) => offsets.filter((o) => o.topic === topic);
  return {
    kind: t.kind,
    admin: () => t.admin(),
    producer: (options) => {
      const producer: Producer = t.producer(options);
      const transaction = producer.transaction.bind(producer);
      producer.transaction = async () => {
        const tx: Transaction = await transaction();
        const pending: TopicPartitionOffset[] = [];
        const sendOffsets = tx.sendOffsets.bind(tx);
        const commit = tx.commit.bind(tx);
        tx.sendOffsets = async (group, offsets) => {
          await sendOffsets(group, offsets);
          pending.push(...ofTopic(offsets));
        };
        tx.commit = async () => {
          await commit();
          onCommitted(pending);
        };
        return tx;
      };
      return producer;
    },
    consumer: (options) => {
      const consumer: Consumer = t.consumer(options);
      const poll = consumer.poll.bind(consumer);
      const commit = consumer.commit.bind(consumer);
      consumer.poll = async (pollOptions) => {
        const records = await poll(pollOptions);
        if (records[0]?.topic === topic) onFirst();
        return records;
      };
      consumer.commit = async (offsets) => {
        await commit(offsets);
        onCommitted(ofTopic(offsets));
      };
      return consumer;
    },
    // The bench owns the transport; runners only stop their own clients.
    close: async () => undefined,
  };
}

/** Starts the SNN-filter topology; `done` is when the group's commits cover `expected` input records. */
export async function startPipeline(
  o: PipelineOptions,
): Promise<PassthroughRun & { runner: TopologyRunner }> {
  let first!: (t: number) => void;
  const firstRecordAt = new Promise<number>((r) => {
    first = r;
  });
  const topology: Topology = {
    appId: o.appId,
    defaultPartitions: o.partitions,
    nodes: [
      {
        spec: o.processor === "drop-all" ? dropAllSpec : snnFilterSpec,
        input: o.input,
        outputs: { spikes: o.spikes },
      },
    ],
  };
  let committed!: (t: number) => void;
  const allCommitted = new Promise<number>((r) => {
    committed = r;
  });
  // Highest committed next offset per input partition; done once they sum to `expected`.
  const positions = new Map<number, number>();
  let total = 0;
  const runner = new TopologyRunner(topology, {
    transport: observing(
      o.transport,
      o.input,
      () => first(performance.now()),
      (offsets) => {
        for (const { partition, offset } of offsets) {
          const before = positions.get(partition) ?? 0;
          if (offset <= before) continue;
          positions.set(partition, offset);
          total += offset - before;
        }
        if (total >= o.expected) committed(performance.now());
      },
    ),
    codec: o.codec,
    logger: silentLogger(),
    guarantee: o.guarantee,
    maxBatchRecords: o.batchSize,
  });
  await runner.start();
  let stopped!: (err: Error) => void;
  const stop = new Promise<never>((_, reject) => {
    stopped = reject;
  });
  stop.catch(() => undefined);
  const done = Promise.race([allCommitted, stop]);
  return {
    runner,
    firstRecordAt,
    done: Promise.race([done, runner.crashed]),
    stop: async () => {
      stopped(new Error(`pipeline ${o.appId} stopped before committing ${o.expected} records`));
      await runner.stop();
    },
  };
}
