import { grownFloat64 } from "./slot-arrays.js";

export interface RecentSummary {
  min: number;
  max: number;
  mean: number;
}

/**
 * The last few values per key slot in a ring buffer, so a spike can say what the signal looked like
 * just before it. Pushing is O(1); summarising (only when a neuron fires) is O(capacity).
 */
export class RecentWindow {
  private values = new Float64Array(0);
  private heads = new Float64Array(0);
  private lengths = new Float64Array(0);
  private slots = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`RecentWindow: capacity must be a positive integer, got ${capacity}`);
    }
  }

  addSlot(): number {
    const slot = this.slots++;
    this.values = grownFloat64(this.values, this.slots, this.capacity, 0);
    this.heads = grownFloat64(this.heads, this.slots, 1, 0);
    this.lengths = grownFloat64(this.lengths, this.slots, 1, 0);
    return slot;
  }

  push(slot: number, value: number): void {
    const head = this.heads[slot] ?? 0;
    this.values[slot * this.capacity + head] = value;
    this.heads[slot] = (head + 1) % this.capacity;
    this.lengths[slot] = Math.min(this.capacity, (this.lengths[slot] ?? 0) + 1);
  }

  /** Min, max and mean of the retained values; NaN for all three when there are none. */
  summary(slot: number): RecentSummary {
    const values = this.snapshot(slot);
    if (values.length === 0) return { min: Number.NaN, max: Number.NaN, mean: Number.NaN };
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let sum = 0;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    return { min, max, mean: sum / values.length };
  }

  /** The retained values, oldest first. */
  snapshot(slot: number): number[] {
    const length = this.lengths[slot] ?? 0;
    const head = this.heads[slot] ?? 0;
    const out: number[] = [];
    for (let i = 0; i < length; i++) {
      const index = (head - length + i + this.capacity) % this.capacity;
      out.push(this.values[slot * this.capacity + index] ?? 0);
    }
    return out;
  }

  restore(slot: number, values: readonly number[]): void {
    this.heads[slot] = 0;
    this.lengths[slot] = 0;
    for (const v of values.slice(-this.capacity)) this.push(slot, v);
  }
}
