import type { Counter, Gauge, Histogram, Registry } from "prom-client";
import { counter, gauge, histogram, LATENCY_BUCKETS_SECONDS } from "../../streams/index.js";

/** What failed in a sample: a /proc part, a log file, or handing the records to the transport. */
export type AgentErrorPart = "stat" | "meminfo" | "diskstats" | "netDev" | "loadavg" | "logs" | "produce";

/** The host agent's metric catalogue; labels are bounded (part, topic, kind), never file names or hosts. */
export interface AgentMetrics {
  samples: Counter<never>;
  errors: Counter<"part">;
  records: Counter<"topic">;
  counterResets: Counter<never>;
  logFileEvents: Counter<"kind">;
  dropped: Counter<never>;
  backlog: Gauge<never>;
  sampleSeconds: Histogram<never>;
}

export function agentMetrics(registry: Registry): AgentMetrics {
  const metrics: AgentMetrics = {
    samples: counter(registry, {
      name: "spikemesh_agent_samples_total",
      help: "Samples the host agent took (one read of /proc and the log files per interval)",
    }),
    errors: counter(registry, {
      name: "spikemesh_agent_sample_errors_total",
      help: "Parts of samples that failed: a /proc file unreadable or malformed, a log file, or producing",
      labelNames: ["part"],
    }),
    records: counter(registry, {
      name: "spikemesh_agent_records_total",
      help: "Records the host agent produced, by topic",
      labelNames: ["topic"],
    }),
    counterResets: counter(registry, {
      name: "spikemesh_agent_counter_resets_total",
      help: "Kernel counters that went backwards between samples (no rate was computed for them)",
    }),
    logFileEvents: counter(registry, {
      name: "spikemesh_agent_log_file_events_total",
      help: "Followed log files that were rotated, truncated or missing at a poll",
      labelNames: ["kind"],
    }),
    dropped: counter(registry, {
      name: "spikemesh_agent_dropped_records_total",
      help: "Records dropped because the backlog (records the transport had not taken) was full",
    }),
    backlog: gauge(registry, {
      name: "spikemesh_agent_backlog_records",
      help: "Records waiting for the transport",
    }),
    sampleSeconds: histogram(registry, {
      name: "spikemesh_agent_sample_duration_seconds",
      help: "Time to read /proc and the log files and encode one sample",
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
  };
  // Zero from the start, so rates and ratios count the first errors.
  for (const part of ["stat", "meminfo", "diskstats", "netDev", "loadavg", "logs", "produce"] as const) {
    metrics.errors.inc({ part }, 0);
  }
  return metrics;
}
