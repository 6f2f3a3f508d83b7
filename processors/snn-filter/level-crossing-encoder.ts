import { DecayingStats, type DecayingStatsState } from "./decaying-stats.js";
import { excess } from "./encoders.js";
import { grownFloat64 } from "./slot-arrays.js";

/** Plain-JSON state of one key's level-crossing encoder. */
export interface LevelCrossingState {
  reference: number | null;
  counts: DecayingStatsState;
}

export interface LevelCrossingConfig {
  /** Time constant, ms of local time, of the running statistics of crossings per sample. */
  statsTauMs: number;
  /** |score| up to this drives no current. */
  deadband: number;
  /** Samples per key that only train the statistics. */
  warmupSamples: number;
}

/**
 * Level crossing (send-on-delta): the value axis is cut into levels `step` apart (the caller passes a
 * step proportional to the key's spread), and each sample counts how many levels the signal crossed
 * since the last crossing, moving the reference level along. A quiet signal crosses rarely, a noisy
 * one steadily; the current is the surprise of the crossing count against its own running statistics,
 * so it reacts to a change in how busy the signal is (bursts, spikes getting denser, a flat line
 * starting to move) rather than to where the value is.
 */
export class LevelCrossingEncoder {
  readonly name = "level-crossing";
  /** The signed score of the last crossing count. */
  score = 0;
  /** Levels crossed by the last sample. */
  crossings = 0;
  private readonly counts: DecayingStats;
  private reference = new Float64Array(0);

  constructor(private readonly config: LevelCrossingConfig) {
    this.counts = new DecayingStats(config.statsTauMs);
  }

  addSlot(): number {
    const slot = this.counts.addSlot();
    this.reference = grownFloat64(this.reference, slot + 1, 1, Number.NaN);
    return slot;
  }

  /** Encodes `value` at local time `tMs` with levels `step` apart (≤ 0 or NaN: no crossing counted). */
  encode(slot: number, tMs: number, value: number, step: number): number {
    const reference = this.reference[slot] ?? Number.NaN;
    if (Number.isNaN(reference)) {
      this.reference[slot] = value;
      this.score = 0;
      this.crossings = 0;
      return 0;
    }
    let crossings = 0;
    if (step > 0) {
      const d = value - reference;
      crossings = Math.floor((d < 0 ? -d : d) / step);
      if (crossings > 0) this.reference[slot] = reference + (d < 0 ? -crossings : crossings) * step;
    }
    this.crossings = crossings;
    const isWarm = this.counts.countOf(slot) >= this.config.warmupSamples;
    this.score = this.counts.score(slot, crossings);
    this.counts.observe(slot, tMs, crossings);
    // Only busier than usual is news here; a signal going quiet shows in the other encoders.
    return isWarm && this.score > 0 ? excess(this.score, this.config.deadband) : 0;
  }

  reset(slot: number): void {
    this.reference[slot] = Number.NaN;
    this.counts.reset(slot);
  }

  /** Forgets the reference level only: the next input sets a new one. */
  restart(slot: number): void {
    this.reference[slot] = Number.NaN;
  }

  snapshot(slot: number): LevelCrossingState {
    const reference = this.reference[slot] ?? Number.NaN;
    return { reference: Number.isNaN(reference) ? null : reference, counts: this.counts.snapshot(slot) };
  }

  restore(slot: number, state: LevelCrossingState): void {
    this.reference[slot] = state.reference ?? Number.NaN;
    this.counts.restore(slot, state.counts);
  }
}
