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
import { groupId, type Topology } from "../streams/topology/topology.js";
import type { Consumer, Transport } from "../streams/transport/transport.js";
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

/** The transport, with consumers that report the first record they deliver from `topic`. */
function observingFirstRecord(t: Transport, topic: string, onFirst: () => void): Transport {
  return {
    kind: t.kind,
    admin: () => t.admin(),
    producer: (options) => t.producer(options),
    consumer: (options) => {
      const consumer: Consumer = t.consumer(options);
      const poll = consumer.poll.bind(consumer);
      consumer.poll = async (pollOptions) => {
        const records = await poll(pollOptions);
        if (records[0]?.topic === topic) onFirst();
        return records;
      };
      return consumer;
    },
    // The bench owns the transport; runners only stop their own clients.
    close: async () => undefined,
  };
}

/** Sum of the group's committed offsets on `topic` (records consumed and committed). */
async function committedCount(transport: Transport, group: string, topic: string): Promise<number> {
  const offsets = await transport.admin().fetchCommittedOffsets(group, topic);
  return offsets.reduce((sum, o) => sum + o.offset, 0);
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
  const runner = new TopologyRunner(topology, {
    transport: observingFirstRecord(o.transport, o.input, () => first(performance.now())),
    codec: o.codec,
    logger: silentLogger(),
    guarantee: o.guarantee,
    maxBatchRecords: o.batchSize,
  });
  await runner.start();
  const group = groupId(o.appId, topology.nodes[0]!);
  let stopped = false;
  const done = (async () => {
    for (;;) {
      if (stopped) throw new Error(`pipeline ${o.appId} stopped before committing ${o.expected} records`);
      if ((await committedCount(o.transport, group, o.input)) >= o.expected) return performance.now();
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  done.catch(() => undefined);
  return {
    runner,
    firstRecordAt,
    done: Promise.race([done, runner.crashed]),
    stop: async () => {
      stopped = true;
      await runner.stop();
    },
  };
}
