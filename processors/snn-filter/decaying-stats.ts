import { DecayFactor, fromJsonNumber, grownFloat64, toJsonNumber } from "./slot-arrays.js";

/** Plain-JSON state of one slot's statistics. */
export interface DecayingStatsState {
  weight: number;
  mean: number;
  m2: number;
  count: number;
  lastMs: number | null;
}

/** |score| is clipped here so a constant signal that moves does not produce an unbounded current. */
export const MAX_ABS_SCORE = 1_000;

/**
 * Largest |sample| the statistics are built for. Beyond any physical telemetry, and small enough that
 * squared differences (≤ 4e200) cannot overflow the running variance to Infinity, which would turn
 * every later score of the key into NaN. Callers reject larger values before they get here.
 */
export const MAX_ABS_VALUE = 1e100;

/**
 * Exponentially weighted mean and variance per slot on event time. Each sample enters with weight 1
 * and every weight decays by exp(-Δt/τ) as event time passes, so irregular spacing is handled
 * exactly and several samples at one timestamp all count. Updates use the weighted form of Welford's
 * algorithm (no catastrophic cancellation on large values).
 */
export class DecayingStats {
  private weight = new Float64Array(0);
  private mean = new Float64Array(0);
  private m2 = new Float64Array(0);
  private count = new Float64Array(0);
  private lastMs = new Float64Array(0);
  private slots = 0;
  private readonly decay: DecayFactor;

  /** @param tauMs time constant in milliseconds of event time over which old samples fade to 1/e. */
  constructor(tauMs: number) {
    if (!(tauMs > 0) || !Number.isFinite(tauMs))
      throw new RangeError(`DecayingStats: tauMs must be > 0, got ${tauMs}`);
    this.decay = new DecayFactor(tauMs);
  }

  addSlot(): number {
    const slot = this.slots++;
    this.weight = grownFloat64(this.weight, this.slots, 1, 0);
    this.mean = grownFloat64(this.mean, this.slots, 1, 0);
    this.m2 = grownFloat64(this.m2, this.slots, 1, 0);
    this.count = grownFloat64(this.count, this.slots, 1, 0);
    this.lastMs = grownFloat64(this.lastMs, this.slots, 1, Number.NaN);
    return slot;
  }

  /** Samples observed so far (not decayed). */
  countOf(slot: number): number {
    return this.count[slot] ?? 0;
  }

  meanOf(slot: number): number {
    return this.mean[slot] ?? 0;
  }

  /** Weighted (population) variance. */
  varianceOf(slot: number): number {
    const w = this.weight[slot] ?? 0;
    const v = w > 0 ? (this.m2[slot] ?? 0) / w : 0;
    return v > 0 ? v : 0;
  }

  /** Weighted (population) standard deviation. */
  stdOf(slot: number): number {
    return Math.sqrt(this.varianceOf(slot));
  }

  /**
   * Standard score of `x` against the statistics so far, clipped to ±MAX_ABS_SCORE; 0 before any
   * sample. The deviation is floored at 1e-9 of the mean's magnitude (or 1e-9) so a constant signal
   * scores large, not infinite, when it moves.
   */
  score(slot: number, x: number): number {
    if (this.countOf(slot) === 0) return 0;
    const mean = this.meanOf(slot);
    const std = Math.max(this.stdOf(slot), 1e-9 * Math.max(1, Math.abs(mean)));
    const z = (x - mean) / std;
    return Math.max(-MAX_ABS_SCORE, Math.min(MAX_ABS_SCORE, z));
  }

  /** Forgets everything the slot has seen. */
  reset(slot: number): void {
    this.weight[slot] = 0;
    this.mean[slot] = 0;
    this.m2[slot] = 0;
    this.count[slot] = 0;
    this.lastMs[slot] = Number.NaN;
  }

  /** Adds sample `x` at event time `tMs`; an earlier `tMs` than the last is taken as Δt = 0. */
  observe(slot: number, tMs: number, x: number): void {
    const last = this.lastMs[slot] ?? Number.NaN;
    const t = Number.isNaN(last) ? tMs : Math.max(tMs, last);
    const decay = Number.isNaN(last) ? 1 : this.decay.of(t - last);
    const w = (this.weight[slot] ?? 0) * decay + 1;
    const oldMean = this.mean[slot] ?? 0;
    const newMean = oldMean + (x - oldMean) / w;
    this.weight[slot] = w;
    this.mean[slot] = newMean;
    this.m2[slot] = (this.m2[slot] ?? 0) * decay + (x - oldMean) * (x - newMean);
    this.count[slot] = (this.count[slot] ?? 0) + 1;
    this.lastMs[slot] = t;
  }

  snapshot(slot: number): DecayingStatsState {
    return {
      weight: this.weight[slot] ?? 0,
      mean: this.meanOf(slot),
      m2: this.m2[slot] ?? 0,
      count: this.countOf(slot),
      lastMs: toJsonNumber(this.lastMs[slot] ?? Number.NaN),
    };
  }

  restore(slot: number, state: DecayingStatsState): void {
    this.weight[slot] = state.weight;
    this.mean[slot] = state.mean;
    this.m2[slot] = state.m2;
    this.count[slot] = state.count;
    this.lastMs[slot] = fromJsonNumber(state.lastMs);
  }
}
