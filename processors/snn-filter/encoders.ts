import { DecayingStats, type DecayingStatsState } from "./decaying-stats.js";
import { grownFloat64 } from "./slot-arrays.js";

/**
 * Turns a stream of inputs per key slot into an input current for the neurons. Telemetry encoders
 * take numbers; the seam is generic so a log encoder (rate coding of template ids) and media encoders
 * (novelty of embeddings) plug into the same population later: each is one more input channel.
 *
 * `encode` returns the current (≥ 0) and leaves the signed score behind it in `score`, so the hot
 * path allocates nothing.
 */
export interface Encoder<In, State> {
  readonly name: string;
  /** The signed score behind the last current `encode` returned (0 when there is none yet). */
  readonly score: number;
  /** Allocates state for a new key; slots are handed out densely from 0. */
  addSlot(): number;
  /** Encodes one input at (local) time `tMs`, updates the slot's state and returns the current. */
  encode(slot: number, tMs: number, input: In): number;
  /** Forgets what the slot has seen (after a long gap). */
  reset(slot: number): void;
  snapshot(slot: number): State;
  restore(slot: number, state: State): void;
}

export interface ScoreEncoderConfig {
  /** Time constant in milliseconds of (local) time of the running mean and variance. */
  statsTauMs: number;
  /** |score| up to this produces no current; above it the current is |score| - deadband. */
  deadband: number;
  /** Samples per key that only train the statistics before any current flows. */
  warmupSamples: number;
}

/** Current for a standard score: what exceeds the deadband, in either direction. */
export function excess(score: number, deadband: number): number {
  const a = score < 0 ? -score : score;
  return a > deadband ? a - deadband : 0;
}

/**
 * Adaptive z-score: each value is scored against an exponentially weighted mean and variance
 * (before the value itself is added, so a jump cannot hide itself), then rectified: surprising
 * values in either direction drive the neurons.
 */
export class ZScoreEncoder implements Encoder<number, DecayingStatsState> {
  readonly name = "zscore";
  score = 0;
  readonly stats: DecayingStats;

  constructor(private readonly config: ScoreEncoderConfig) {
    this.stats = new DecayingStats(config.statsTauMs);
  }

  addSlot(): number {
    return this.stats.addSlot();
  }

  /** True once the slot has seen `warmupSamples` values. */
  isWarm(slot: number): boolean {
    return this.stats.countOf(slot) >= this.config.warmupSamples;
  }

  encode(slot: number, tMs: number, value: number): number {
    const isWarm = this.isWarm(slot);
    this.score = this.stats.score(slot, value);
    this.stats.observe(slot, tMs, value);
    return isWarm ? excess(this.score, this.config.deadband) : 0;
  }

  reset(slot: number): void {
    this.stats.reset(slot);
  }

  snapshot(slot: number): DecayingStatsState {
    return this.stats.snapshot(slot);
  }

  restore(slot: number, state: DecayingStatsState): void {
    this.stats.restore(slot, state);
  }
}

export interface DeltaEncoderState {
  previous: number | null;
  stats: DecayingStatsState;
}

/**
 * Rate of change: the difference between consecutive values of a key, scored against the running
 * statistics of earlier differences. Catches abrupt moves that stay inside the usual range of
 * values, which a z-score on the values alone misses. Warm-up counts differences, not values.
 */
export class DeltaEncoder implements Encoder<number, DeltaEncoderState> {
  readonly name = "delta";
  score = 0;
  private readonly stats: DecayingStats;
  private previous = new Float64Array(0);

  constructor(private readonly config: ScoreEncoderConfig) {
    this.stats = new DecayingStats(config.statsTauMs);
  }

  addSlot(): number {
    const slot = this.stats.addSlot();
    this.previous = grownFloat64(this.previous, slot + 1, 1, Number.NaN);
    return slot;
  }

  /** The slot's last value in arrival order, or undefined before its first. */
  previousOf(slot: number): number | undefined {
    const previous = this.previous[slot] ?? Number.NaN;
    return Number.isNaN(previous) ? undefined : previous;
  }

  encode(slot: number, tMs: number, value: number): number {
    const previous = this.previous[slot] ?? Number.NaN;
    this.previous[slot] = value;
    if (Number.isNaN(previous)) {
      this.score = 0;
      return 0;
    }
    const delta = value - previous;
    const isWarm = this.stats.countOf(slot) >= this.config.warmupSamples;
    this.score = this.stats.score(slot, delta);
    this.stats.observe(slot, tMs, delta);
    return isWarm ? excess(this.score, this.config.deadband) : 0;
  }

  reset(slot: number): void {
    this.previous[slot] = Number.NaN;
    this.stats.reset(slot);
  }

  /** Forgets the previous value only: the next input starts a new series of differences. */
  restart(slot: number): void {
    this.previous[slot] = Number.NaN;
  }

  snapshot(slot: number): DeltaEncoderState {
    const previous = this.previous[slot] ?? Number.NaN;
    return { previous: Number.isNaN(previous) ? null : previous, stats: this.stats.snapshot(slot) };
  }

  restore(slot: number, state: DeltaEncoderState): void {
    this.previous[slot] = state.previous ?? Number.NaN;
    this.stats.restore(slot, state.stats);
  }
}
