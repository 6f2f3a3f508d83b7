import type { Counter, Gauge, Registry } from "prom-client";
import type { HotCounter, HotHistogram } from "../metrics/hot-metrics.js";
import {
  counter,
  gauge,
  hotCounter,
  hotHistogram,
  LATENCY_BUCKETS_SECONDS,
} from "../metrics/metric-factory.js";

/** The runner's metric catalogue; labels are bounded (processor, topic, partition, code). */
export interface RunnerMetrics {
  recordsIn: HotCounter<"processor" | "topic">;
  recordsOut: Counter<"processor" | "topic">;
  deadLettered: Counter<"processor" | "topic" | "code">;
  retries: Counter<"processor">;
  processSeconds: HotHistogram<"processor">;
  commits: Counter<"processor">;
  reconnects: Counter<"processor">;
  assigned: Gauge<"processor">;
  paused: Gauge<"processor">;
  lag: Gauge<"group" | "topic" | "partition">;
}

export function runnerMetrics(registry: Registry): RunnerMetrics {
  return {
    recordsIn: hotCounter(registry, {
      name: "spikemesh_records_in_total",
      help: "Records a processor consumed from its input topic",
      labelNames: ["processor", "topic"],
    }),
    recordsOut: counter(registry, {
      name: "spikemesh_records_out_total",
      help: "Records a processor produced to an output topic",
      labelNames: ["processor", "topic"],
    }),
    deadLettered: counter(registry, {
      name: "spikemesh_dlq_records_total",
      help: "Records sent to a dead-letter topic, by error code",
      labelNames: ["processor", "topic", "code"],
    }),
    retries: counter(registry, {
      name: "spikemesh_retries_total",
      help: "Retries of retriable processing failures",
      labelNames: ["processor"],
    }),
    processSeconds: hotHistogram(registry, {
      name: "spikemesh_process_seconds",
      help: "Time to decode and process one record",
      labelNames: ["processor"],
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
    commits: counter(registry, {
      name: "spikemesh_commits_total",
      help: "Offset commits after processed batches",
      labelNames: ["processor"],
    }),
    reconnects: counter(registry, {
      name: "spikemesh_reconnects_total",
      help: "Times a node dropped its consumer and producers after a transport failure and joined again",
      labelNames: ["processor"],
    }),
    assigned: gauge(registry, {
      name: "spikemesh_partitions_assigned",
      help: "Input partitions assigned to this instance",
      labelNames: ["processor"],
    }),
    paused: gauge(registry, {
      name: "spikemesh_partitions_paused",
      help: "Input partitions paused for backpressure",
      labelNames: ["processor"],
    }),
    lag: gauge(registry, {
      name: "spikemesh_consumer_lag_records",
      help: "Records between the committed offset and the end of the partition",
      labelNames: ["group", "topic", "partition"],
    }),
  };
}

/** Error codes a record can be dead-lettered with (see failure-policy.ts): decode, validation, size, exhausted retries. */
export const DEAD_LETTER_CODES = [
  "DECODE_FAILED",
  "SCHEMA_UNKNOWN",
  "RECORD_INVALID",
  "RECORD_TOO_LARGE",
  "ENCODE_FAILED",
  "TRANSIENT",
  "TIMEOUT",
] as const;

/**
 * Starts a node's counters at zero for every label set it can ever have, so dashboards and alert
 * rules see a series (and a rate of 0) before the first record, retry or dead letter rather than
 * "no data". The sets are bounded: processor, its input and output topics, and the codes above.
 */
export function initNodeSeries(
  metrics: RunnerMetrics,
  processor: string,
  input: string,
  outputs: readonly string[],
): void {
  metrics.recordsIn.inc({ processor, topic: input }, 0);
  for (const topic of new Set(outputs)) metrics.recordsOut.inc({ processor, topic }, 0);
  for (const code of DEAD_LETTER_CODES) metrics.deadLettered.inc({ processor, topic: input, code }, 0);
  metrics.retries.inc({ processor }, 0);
  metrics.commits.inc({ processor }, 0);
  metrics.reconnects.inc({ processor }, 0);
  metrics.assigned.set({ processor }, 0);
  metrics.paused.set({ processor }, 0);
}
