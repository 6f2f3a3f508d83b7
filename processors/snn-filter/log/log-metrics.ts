import type { Counter, Gauge, Registry } from "prom-client";
import { counter, gauge } from "../../../streams/index.js";

/**
 * The log filter's own metrics; lines, spikes, sources and dead letters are counted in the SNN
 * filter's catalogue (snn-metrics.ts) under `processor="snn-log-filter"`, so the dashboards' event
 * and spike totals include logs. Labels are bounded (processor, partition), never sources or text.
 */
export interface LogMetrics {
  templates: Gauge<"processor" | "partition">;
  newTemplates: Counter<"processor" | "partition">;
}

export function logMetrics(registry: Registry): LogMetrics {
  return {
    templates: gauge(registry, {
      name: "spikemesh_snn_log_templates",
      help: "Log templates the miner of an SNN log filter instance holds",
      labelNames: ["processor", "partition"],
    }),
    newTemplates: counter(registry, {
      name: "spikemesh_snn_log_new_templates_total",
      help: "Log templates the miner created (lines that matched no template)",
      labelNames: ["processor", "partition"],
    }),
  };
}
