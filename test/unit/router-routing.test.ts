import { describe, expect, it } from "vitest";
import { requestId, routeId, sampleIndex, tierProbabilities } from "../../processors/router/index.js";
import { seededRandom } from "../../streams/index.js";

describe("tier probabilities", () => {
  it("sum to 1 and never fall below epsilon / n", () => {
    for (const logits of [
      [0, 0],
      [1, -1],
      [50, -50],
      [0.3, 0.9, 0.1],
      [-1000, 0, 1000],
    ]) {
      for (const temperature of [0.01, 0.2, 1, 10]) {
        const epsilon = 0.05;
        const p = tierProbabilities(logits, temperature, epsilon);
        expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        for (const pi of p) expect(pi).toBeGreaterThanOrEqual(epsilon / logits.length - 1e-15);
      }
    }
  });

  it("follow the softmax: higher weight, higher probability; higher temperature, flatter", () => {
    const [a, b] = tierProbabilities([0.7, 0.5], 0.2, 0);
    expect(a! / b!).toBeCloseTo(Math.exp(1), 10);
    const hot = tierProbabilities([0.7, 0.5], 5, 0);
    expect(hot[0]! - hot[1]!).toBeLessThan(a! - b!);
  });

  it("sampled with a seeded source, tier frequencies follow the probabilities", () => {
    const p = tierProbabilities([0.6, 0.4], 0.2, 0.05);
    const random = seededRandom(42);
    const n = 20_000;
    const counts = [0, 0];
    for (let i = 0; i < n; i++) counts[sampleIndex(p, random.next())]!++;
    for (const i of [0, 1]) {
      // 5 standard deviations of a binomial: fails by chance about once in 3.5 million runs.
      const sd = Math.sqrt(n * p[i]! * (1 - p[i]!));
      expect(Math.abs(counts[i]! - n * p[i]!)).toBeLessThan(5 * sd);
    }
  });

  it("sampleIndex covers [0, 1) without gaps", () => {
    expect(sampleIndex([0.25, 0.75], 0)).toBe(0);
    expect(sampleIndex([0.25, 0.75], 0.2499)).toBe(0);
    expect(sampleIndex([0.25, 0.75], 0.25)).toBe(1);
    expect(sampleIndex([0.25, 0.75], 0.999999999)).toBe(1);
  });
});

describe("ids", () => {
  it("route ids are <kind>-><tier>", () => {
    expect(routeId("single", "phi2")).toBe("single->phi2");
    expect(routeId("correlated", "deepseek")).toBe("correlated->deepseek");
  });

  it("request ids depend only on source, window start and tier", () => {
    expect(requestId("host-a", 10_000, "phi2")).toBe(requestId("host-a", 10_000, "phi2"));
    expect(requestId("host-a", 10_000, "phi2")).toMatch(/^[0-9a-f]{32}$/);
    const others = [
      requestId("host-b", 10_000, "phi2"),
      requestId("host-a", 15_000, "phi2"),
      requestId("host-a", 10_000, "deepseek"),
    ];
    expect(new Set([requestId("host-a", 10_000, "phi2"), ...others]).size).toBe(4);
  });
});
