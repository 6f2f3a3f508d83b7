import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../streams/clock.js";
import { disabledMetrics, hotCounter, hotHistogram } from "../../streams/metrics/metric-factory.js";

const BUCKETS = [0.0001, 0.001, 0.01, 0.1, 1];

/** The same observations into prom-client's own metrics and into the hot ones: the scrapes must match. */
describe("hot metrics", () => {
  it("scrape exactly like prom-client's Counter and Histogram for the same observations", async () => {
    const ours = new Registry();
    const reference = new Registry();
    const hc = hotCounter(ours, {
      name: "t_records_total",
      help: "records",
      labelNames: ["processor", "topic"],
    });
    const rc = new Counter({
      name: "t_records_total",
      help: "records",
      labelNames: ["processor", "topic"],
      registers: [reference],
    });
    const hh = hotHistogram(ours, {
      name: "t_seconds",
      help: "seconds",
      labelNames: ["processor"],
      buckets: BUCKETS,
    });
    const rh = new Histogram({
      name: "t_seconds",
      help: "seconds",
      labelNames: ["processor"],
      buckets: BUCKETS,
      registers: [reference],
    });
    const random = seededRandom(7);
    const bound = { a: hc.labels({ processor: "a", topic: "x" }), b: hh.labels({ processor: "b" }) };
    for (let i = 0; i < 2_000; i++) {
      // Values on both sides of every bound, and exactly on one.
      const v = i === 0 ? 0.01 : 10 ** (-5 + 6 * random.next());
      const processor = i % 3 === 0 ? "a" : "b";
      hh.observe({ processor }, v);
      rh.observe({ processor }, v);
      bound.b.observe(v / 2);
      rh.observe({ processor: "b" }, v / 2);
      const n = 1 + (i % 4);
      bound.a.inc(n);
      rc.inc({ processor: "a", topic: "x" }, n);
      hc.inc({ processor: "b", topic: "y" });
      rc.inc({ processor: "b", topic: "y" });
    }
    // Same lines (label sets may come in another order, which Prometheus does not care about).
    const lines = async (r: Registry) => (await r.metrics()).split("\n").sort();
    expect(await lines(ours)).toEqual(await lines(reference));
    expect((await lines(ours)).filter((l) => l.startsWith("t_seconds_bucket"))).toHaveLength(12);
  });

  it("starts a bound child at zero, returns the registered metric by name, and removes label sets", async () => {
    const registry = new Registry();
    const c = hotCounter(registry, { name: "t_total", help: "h", labelNames: ["p"] });
    c.labels({ p: "0" });
    expect(await registry.metrics()).toContain('t_total{p="0"} 0');
    expect(hotCounter(registry, { name: "t_total", help: "h", labelNames: ["p"] })).toBe(c);
    c.remove({ p: "0" });
    expect(await registry.metrics()).not.toContain('p="0"');
  });

  it("rejects what prom-client rejects: unknown labels, a negative increment, a NaN observation", () => {
    const registry = new Registry();
    const c = hotCounter(registry, { name: "t_total", help: "h", labelNames: ["p"] });
    const h = hotHistogram(registry, { name: "t_s", help: "h", labelNames: ["p"], buckets: BUCKETS });
    expect(() => c.inc({ q: "1" } as never)).toThrow(/not included/);
    expect(() => c.labels({ p: "1" }).inc(-1)).toThrow(RangeError);
    expect(() => h.labels({ p: "1" }).observe(Number.NaN)).toThrow(/not a valid number/);
  });

  it("does nothing in a disabled registry", async () => {
    const registry = disabledMetrics();
    hotCounter(registry, { name: "t_total", help: "h", labelNames: ["p"] })
      .labels({ p: "1" })
      .inc();
    hotHistogram(registry, { name: "t_s", help: "h", labelNames: ["p"], buckets: BUCKETS }).observe(
      { p: "1" },
      1,
    );
    expect(await registry.metrics()).toBe("\n");
  });
});
