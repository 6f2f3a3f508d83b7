import type { Counter, Gauge, Registry } from "prom-client";
import { counter, gauge, type HotCounter, hotCounter } from "../../streams/index.js";

/** Why a record was rejected: a bounded label value. */
export type InvalidReason =
  | "non_finite"
  | "out_of_range"
  | "empty_field"
  | "late"
  | "too_many_keys"
  /** A log line over the log filter's maxLineBytes. */
  | "too_long";

/** The SNN filter's metric catalogue; labels are bounded (processor, partition, reason), never keys. */
export interface SnnMetrics {
  /** Per record: a hot counter (bind a child once; see streams/metrics/hot-metrics.ts). */
  events: HotCounter<"processor" | "partition">;
  spikes: Counter<"processor" | "partition">;
  keys: Gauge<"processor" | "partition">;
  invalid: Counter<"processor" | "partition" | "reason">;
  duplicates: Counter<"processor" | "partition">;
  gapResets: Counter<"processor" | "partition">;
}

export function snnMetrics(registry: Registry): SnnMetrics {
  return {
    events: hotCounter(registry, {
      name: "spikemesh_snn_events_total",
      help: "Events the SNN filters received (telemetry samples; log lines under processor snn-log-filter), valid or not",
      labelNames: ["processor", "partition"],
    }),
    spikes: counter(registry, {
      name: "spikemesh_snn_spikes_total",
      help: "Spikes the SNN filter emitted",
      labelNames: ["processor", "partition"],
    }),
    keys: gauge(registry, {
      name: "spikemesh_snn_keys",
      help: "Keys the SNN filter tracks (source/metric; sources for snn-log-filter)",
      labelNames: ["processor", "partition"],
    }),
    invalid: counter(registry, {
      name: "spikemesh_snn_invalid_records_total",
      help: "Events the SNN filters dead-lettered, by reason",
      labelNames: ["processor", "partition", "reason"],
    }),
    duplicates: counter(registry, {
      name: "spikemesh_snn_duplicate_records_total",
      help: "Telemetry events the SNN filter ignored as exact repeats of their key's last sample",
      labelNames: ["processor", "partition"],
    }),
    gapResets: counter(registry, {
      name: "spikemesh_snn_key_resets_total",
      help: "Keys the SNN filter started over because they were silent for more than maxGapMs",
      labelNames: ["processor", "partition"],
    }),
  };
}
