import {
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from "prom-client";
import { HotCounter, HotHistogram, registerHot } from "./hot-metrics.js";

/**
 * Metrics live in an injected registry (never prom-client's global one; see `disabledMetrics` for
 * none at all). Processors run one
 * instance per partition, so each metric is created once per registry and shared: these return the
 * existing metric when the name is already registered.
 */
export function counter<L extends string>(
  registry: Registry,
  config: Omit<CounterConfiguration<L>, "registers">,
): Counter<L> {
  if (isMetricsDisabled(registry)) return NOOP_METRIC as unknown as Counter<L>;
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Counter<L>;
  return new Counter<L>({ ...config, registers: [registry] });
}

export function gauge<L extends string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<L>, "registers">,
): Gauge<L> {
  if (isMetricsDisabled(registry)) return NOOP_METRIC as unknown as Gauge<L>;
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Gauge<L>;
  return new Gauge<L>({ ...config, registers: [registry] });
}

export function histogram<L extends string>(
  registry: Registry,
  config: Omit<HistogramConfiguration<L>, "registers">,
): Histogram<L> {
  if (isMetricsDisabled(registry)) return NOOP_METRIC as unknown as Histogram<L>;
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Histogram<L>;
  return new Histogram<L>({ ...config, registers: [registry] });
}

/**
 * A counter for the per-record path (see hot-metrics.ts): bind a child with `labels()` once, then
 * `inc()` costs a few additions instead of a label hash.
 */
export function hotCounter<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames: readonly L[] },
): HotCounter<L> {
  if (isMetricsDisabled(registry)) return NOOP_METRIC as unknown as HotCounter<L>;
  return registerHot(registry, new HotCounter<L>(config.name, config.help, config.labelNames));
}

/** A histogram for the per-record path (see hot-metrics.ts), observed through bound children. */
export function hotHistogram<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[] },
): HotHistogram<L> {
  if (isMetricsDisabled(registry)) return NOOP_METRIC as unknown as HotHistogram<L>;
  return registerHot(
    registry,
    new HotHistogram<L>(config.name, config.help, config.labelNames, config.buckets),
  );
}

/** Latency buckets in seconds, 100 µs to 60 s. */
export const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

const DISABLED = Symbol("spikemesh.metrics.disabled");

/**
 * A registry whose metrics do nothing: the factories above return no-op metrics for it, and the
 * runner samples no consumer lag. For measuring what metrics cost (bench/metrics-overhead.ts) and
 * for embedding spikemesh where metrics are not wanted.
 */
export function disabledMetrics(): Registry {
  const registry = new Registry();
  (registry as unknown as Record<symbol, boolean>)[DISABLED] = true;
  return registry;
}

export function isMetricsDisabled(registry: Registry): boolean {
  return (registry as unknown as Record<symbol, boolean>)[DISABLED] === true;
}

const noop = () => undefined;
/** Stands in for a Counter, Gauge or Histogram: every method returns without doing anything. */
const NOOP_METRIC: Record<string, unknown> = {
  inc: noop,
  dec: noop,
  set: noop,
  observe: noop,
  reset: noop,
  remove: noop,
  zero: noop,
  setToCurrentTime: noop,
  startTimer: () => noop,
  get: async () => ({ name: "", help: "", type: "counter", values: [], aggregator: "sum" }),
};
NOOP_METRIC.labels = () => NOOP_METRIC;
