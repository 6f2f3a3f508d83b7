import { DecayingStats, type DecayingStatsState } from "./decaying-stats.js";
import { excess } from "./encoders.js";
import { DecayFactor, fromJsonNumber, grownFloat64, sliceToArray, toJsonNumber } from "./slot-arrays.js";

export interface SeasonalEncoderConfig {
  /** Length of the pattern, ms of event time (a day: 86 400 000). */
  periodMs: number;
  /** Bins per period (≥ 1): a sample falls in bin ⌊(UTC ms mod period) / period · bins⌋. */
  bins: number;
  /** Time constant, ms of local time, of the running statistics of the residuals. */
  statsTauMs: number;
  /** |score| up to this drives no current. */
  deadband: number;
  /** Residuals per key that only train the statistics. */
  warmupSamples: number;
}

/** Plain-JSON state of one key's seasonal baseline. */
export interface SeasonalState {
  firstMs: number | null;
  mean: number[];
  weight: number[];
  lastMs: Array<number | null>;
  residuals: DecayingStatsState;
}

/** A bin's mean forgets its past over this many periods, so a slowly changing pattern is followed. */
const MEMORY_PERIODS = 1;

/**
 * Seasonal baseline: the expected value for each position in a period (by default a day cut into
 * bins of the samples' UTC time of day), learned as a per-bin exponentially weighted mean on event
 * time. A value is scored by its residual from its bin's mean, against the running statistics of
 * earlier residuals. Daily patterns that would make a plain z-score fire at every peak score as
 * normal here, and a normal level at the wrong time of day scores as surprising.
 *
 * It is warm once a whole period has passed since the key's first sample and `warmupSamples`
 * residuals have been seen. `meanSquaredError` says how well the baseline predicts the key, so the
 * network can prefer it to the plain z-score only where the key really has a pattern.
 */
export class SeasonalEncoder {
  readonly name = "seasonal";
  /** The signed residual score behind the last current. */
  score = 0;
  /** What the baseline expected for the last encoded value (NaN while it has none for that bin). */
  expected = Number.NaN;
  private readonly residuals: DecayingStats;
  private mean = new Float64Array(0);
  private weight = new Float64Array(0);
  private binLastMs = new Float64Array(0);
  private firstMs = new Float64Array(0);
  private slots = 0;
  private readonly binDecay: DecayFactor;

  constructor(private readonly config: SeasonalEncoderConfig) {
    if (!Number.isInteger(config.bins) || config.bins < 1) {
      throw new RangeError(`SeasonalEncoder: bins must be a positive integer, got ${config.bins}`);
    }
    if (!(config.periodMs > 0)) throw new RangeError(`SeasonalEncoder: periodMs must be > 0`);
    this.residuals = new DecayingStats(config.statsTauMs);
    this.binDecay = new DecayFactor(MEMORY_PERIODS * config.periodMs);
  }

  addSlot(): number {
    const slot = this.slots++;
    const { bins } = this.config;
    this.mean = grownFloat64(this.mean, this.slots, bins, 0);
    this.weight = grownFloat64(this.weight, this.slots, bins, 0);
    this.binLastMs = grownFloat64(this.binLastMs, this.slots, bins, Number.NaN);
    this.firstMs = grownFloat64(this.firstMs, this.slots, 1, Number.NaN);
    this.residuals.addSlot();
    return slot;
  }

  /** Bin of an event time: its position in the period (UTC), 0-based. */
  binOf(eventMs: number): number {
    const { periodMs, bins } = this.config;
    const phase = ((eventMs % periodMs) + periodMs) % periodMs;
    return Math.min(bins - 1, Math.floor((phase / periodMs) * bins));
  }

  /** True once a whole period has passed since the slot's first sample and the residuals are trained. */
  isWarm(slot: number): boolean {
    return this.residuals.countOf(slot) >= this.config.warmupSamples;
  }

  /** Mean squared residual of the baseline's predictions (variance + squared mean of the residuals). */
  meanSquaredError(slot: number): number {
    const m = this.residuals.meanOf(slot);
    return this.residuals.varianceOf(slot) + m * m;
  }

  /**
   * Scores `value` at event time `eventMs` (local time `localMs` for the residual statistics), then
   * learns it. Returns the current (0 until warm).
   */
  encode(slot: number, localMs: number, eventMs: number, value: number): number {
    const { bins } = this.config;
    let first = this.firstMs[slot] ?? Number.NaN;
    if (Number.isNaN(first)) {
      first = eventMs;
      this.firstMs[slot] = eventMs;
    }
    const j = slot * bins + this.binOf(eventMs);
    const hasBaseline = eventMs - first >= this.config.periodMs && (this.weight[j] ?? 0) > 0;
    let current = 0;
    this.score = 0;
    this.expected = hasBaseline ? (this.mean[j] ?? 0) : Number.NaN;
    if (hasBaseline) {
      const residual = value - this.expected;
      const isWarm = this.isWarm(slot);
      this.score = this.residuals.score(slot, residual);
      this.residuals.observe(slot, localMs, residual);
      current = isWarm ? excess(this.score, this.config.deadband) : 0;
    }
    const last = this.binLastMs[j] ?? Number.NaN;
    const decay = Number.isNaN(last) ? 1 : this.binDecay.of(eventMs - last);
    const w = (this.weight[j] ?? 0) * decay + 1;
    this.weight[j] = w;
    this.mean[j] = (this.mean[j] ?? 0) + (value - (this.mean[j] ?? 0)) / w;
    if (!(eventMs <= last)) this.binLastMs[j] = eventMs;
    return current;
  }

  reset(slot: number): void {
    const { bins } = this.config;
    this.mean.fill(0, slot * bins, (slot + 1) * bins);
    this.weight.fill(0, slot * bins, (slot + 1) * bins);
    this.binLastMs.fill(Number.NaN, slot * bins, (slot + 1) * bins);
    this.firstMs[slot] = Number.NaN;
    this.residuals.reset(slot);
  }

  snapshot(slot: number): SeasonalState {
    const { bins } = this.config;
    const from = slot * bins;
    return {
      firstMs: toJsonNumber(this.firstMs[slot] ?? Number.NaN),
      mean: sliceToArray(this.mean, from, from + bins),
      weight: sliceToArray(this.weight, from, from + bins),
      lastMs: sliceToArray(this.binLastMs, from, from + bins, toJsonNumber),
      residuals: this.residuals.snapshot(slot),
    };
  }

  restore(slot: number, state: SeasonalState): void {
    const { bins } = this.config;
    if (state.mean.length !== bins || state.weight.length !== bins || state.lastMs.length !== bins) {
      throw new RangeError(
        `SeasonalEncoder.restore: snapshot has ${state.mean.length} bins, expected ${bins}`,
      );
    }
    this.firstMs[slot] = fromJsonNumber(state.firstMs);
    for (let i = 0; i < bins; i++) {
      this.mean[slot * bins + i] = state.mean[i] ?? 0;
      this.weight[slot * bins + i] = state.weight[i] ?? 0;
      this.binLastMs[slot * bins + i] = fromJsonNumber(state.lastMs[i]);
    }
    this.residuals.restore(slot, state.residuals);
  }
}
