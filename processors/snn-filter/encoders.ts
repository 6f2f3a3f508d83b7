import { DecayingStats, type DecayingStatsState } from "./decaying-stats.js";
import { grownFloat64 } from "./slot-arrays.js";

/** What an encoder makes of one input: a non-negative input current and the score behind it. */
export interface Encoding {
  /** Charge for the neurons this encoder drives (≥ 0; 0 during warm-up or inside the deadband). */
  current: number;
  /** The signed standard score the current came from (0 when there is none yet). */
  score: number;
}

/**
 * Turns a stream of inputs per key slot into input currents. Telemetry encoders take numbers; the
 * seam is generic so log-template encoders (rate coding of template ids) and media encoders (novelty
 * of embeddings) can plug into the same filter shell later.
 */
export interface Encoder<In, State> {
  readonly name: string;
  /** Allocates state for a new key; slots are handed out densely from 0. */
  addSlot(): number;
  /** Encodes one input at event time `tMs` and updates the slot's state. */
  encode(slot: number, tMs: number, input: In): Encoding;
  snapshot(slot: number): State;
  restore(slot: number, state: State): void;
}

export interface ScoreEncoderConfig {
  /** Time constant in milliseconds of event time of the running mean and variance. */
  statsTauMs: number;
  /** |score| up to this produces no current; above it the current is |score| - deadband. */
  deadband: number;
  /** Samples per key that only train the statistics before any current flows. */
  warmupSamples: number;
}

const SILENT: Encoding = Object.freeze({ current: 0, score: 0 });

function excess(score: number, deadband: number): number {
  return Math.max(0, Math.abs(score) - deadband);
}

/**
 * Adaptive z-score: each value is scored against an exponentially weighted mean and variance on
 * event time (before the value itself is added, so a jump cannot hide itself), then rectified:
 * surprising values in either direction drive the neurons.
 */
export class ZScoreEncoder implements Encoder<number, DecayingStatsState> {
  readonly name = "zscore";
  private readonly stats: DecayingStats;

  constructor(private readonly config: ScoreEncoderConfig) {
    this.stats = new DecayingStats(config.statsTauMs);
  }

  addSlot(): number {
    return this.stats.addSlot();
  }

  encode(slot: number, tMs: number, value: number): Encoding {
    const isWarm = this.stats.countOf(slot) >= this.config.warmupSamples;
    const score = this.stats.score(slot, value);
    this.stats.observe(slot, tMs, value);
    return { current: isWarm ? excess(score, this.config.deadband) : 0, score };
  }

  /** Running mean of the slot's values. */
  meanOf(slot: number): number {
    return this.stats.meanOf(slot);
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

  encode(slot: number, tMs: number, value: number): Encoding {
    const previous = this.previous[slot] ?? Number.NaN;
    this.previous[slot] = value;
    if (Number.isNaN(previous)) return SILENT;
    const delta = value - previous;
    const isWarm = this.stats.countOf(slot) >= this.config.warmupSamples;
    const score = this.stats.score(slot, delta);
    this.stats.observe(slot, tMs, delta);
    return { current: isWarm ? excess(score, this.config.deadband) : 0, score };
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
