import type { Registry } from "prom-client";

/** What the registry reads from a metric's `get()`. */
export interface HotMetricValues {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  values: { labels: Record<string, string | number>; value: number; metricName?: string }[];
}

/**
 * Metrics for the per-record path. prom-client's Counter and Histogram hash the label object and
 * allocate on every `inc`/`observe`, even through a child from `labels()`: about 1 µs a call, which
 * is a tenth of what the runtime spends on a record. These keep one child per label set with plain
 * numbers (a Float64Array of bucket counts for the histogram), so a call on a bound child is a few
 * additions. They register in the same Registry as prom-client's metrics (name, help, type and
 * `get()` are what the registry reads), so /metrics, `registry.metrics()` and
 * `getSingleMetric(name).get()` show them like any other.
 */
abstract class HotMetric<L extends string, C> {
  readonly aggregator = "sum";
  protected readonly children = new Map<string, { labels: Record<string, string>; child: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
  ) {}

  protected abstract create(): C;

  /** The child of one label set (created at zero on first use). Bind it once, outside the hot loop. */
  labels(labels: Partial<Record<L, string | number>>): C {
    const key = this.keyOf(labels);
    let entry = this.children.get(key);
    if (entry === undefined) {
      const copy: Record<string, string> = {};
      for (const name of this.labelNames) copy[name] = String(labels[name] ?? "");
      entry = { labels: copy, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  remove(labels: Partial<Record<L, string | number>>): void {
    this.children.delete(this.keyOf(labels));
  }

  reset(): void {
    this.children.clear();
  }

  private keyOf(labels: Partial<Record<L, string | number>>): string {
    for (const name of Object.keys(labels)) {
      if (!this.labelNames.includes(name as L)) {
        throw new Error(`Added label "${name}" is not included in initial labelset of ${this.name}`);
      }
    }
    return this.labelNames.map((n) => String(labels[n] ?? "")).join("\u0000");
  }
}

export interface HotCounterChild {
  inc(value?: number): void;
  readonly value: number;
}

class CounterChild implements HotCounterChild {
  value = 0;

  inc(by = 1): void {
    if (!(by >= 0) || by === Number.POSITIVE_INFINITY) {
      throw new RangeError(`a counter only goes up by a finite amount, got ${by}`);
    }
    this.value += by;
  }
}

/** A Prometheus counter whose bound children count with a plain number. */
export class HotCounter<L extends string> extends HotMetric<L, HotCounterChild> {
  readonly type = "counter";

  protected create(): HotCounterChild {
    return new CounterChild();
  }

  inc(labels: Partial<Record<L, string | number>>, value = 1): void {
    this.labels(labels).inc(value);
  }

  async get(): Promise<HotMetricValues> {
    const values = [...this.children.values()].map(({ labels, child }) => ({ labels, value: child.value }));
    return { name: this.name, help: this.help, type: "counter", values, aggregator: "sum" };
  }
}

export interface HotHistogramChild {
  observe(value: number): void;
}

class HistogramChild implements HotHistogramChild {
  /** Observations per bucket (not cumulative); the last slot is above every bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** A Prometheus histogram whose bound children count into a Float64Array of buckets. */
export class HotHistogram<L extends string> extends HotMetric<L, HotHistogramChild> {
  readonly type = "histogram";
  private readonly bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]) {
    super(name, help, labelNames);
    this.bounds = [...buckets].sort((a, b) => a - b);
  }

  protected create(): HotHistogramChild {
    return new HistogramChild(this.bounds);
  }

  observe(labels: Partial<Record<L, string | number>>, value: number): void {
    this.labels(labels).observe(value);
  }

  async get(): Promise<HotMetricValues> {
    const values: HotMetricValues["values"] = [];
    for (const { labels, child } of this.children.values()) {
      const c = child as HistogramChild;
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += c.counts[i]!;
        values.push({
          labels: { le: i < this.bounds.length ? this.bounds[i]! : "+Inf", ...labels },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: "histogram", values, aggregator: "sum" };
  }
}

/** Registers `metric` in `registry`, or returns the one already registered under its name. */
export function registerHot<M extends HotCounter<string> | HotHistogram<string>>(
  registry: Registry,
  metric: M,
): M {
  const existing = registry.getSingleMetric(metric.name);
  if (existing) return existing as unknown as M;
  registry.registerMetric(metric as never);
  return metric;
}
