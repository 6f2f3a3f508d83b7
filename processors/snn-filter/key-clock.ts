import { fromJsonNumber, grownFloat64, toJsonNumber } from "./slot-arrays.js";

/** Plain-JSON state of one key's clock. Times are epoch ms; null = no sample yet. */
export interface KeyClockState {
  lastMs: number | null;
  localMs: number | null;
  cadenceMs: number | null;
}

/** How fast the spacing estimate follows the data, per sample. */
const CADENCE_RATE = 0.02;
/** One spacing moves the estimate by at most this factor either way, so gaps and bursts barely bend it. */
const CADENCE_CLAMP = 4;

/**
 * Each key's local time, on which its neurons and statistics run. Without `cadenceStepMs` it is plain
 * event time. With it, every gap between two samples is rescaled by `cadenceStepMs / cadence`, where
 * `cadence` is the key's typical spacing (a slowly moving, clamped average of its positive gaps), so
 * time constants count samples rather than milliseconds whatever the key's reporting rate.
 *
 * Local time never runs backwards: a sample earlier than the key's newest is placed at the newest
 * (Δt = 0) and does not move the estimate.
 */
export class KeyClock {
  private lastMs = new Float64Array(0);
  private localMs = new Float64Array(0);
  private cadenceMs = new Float64Array(0);
  private slots = 0;

  constructor(private readonly cadenceStepMs?: number) {
    if (cadenceStepMs !== undefined && !(cadenceStepMs > 0 && Number.isFinite(cadenceStepMs))) {
      throw new RangeError(`KeyClock: cadenceStepMs must be > 0, got ${cadenceStepMs}`);
    }
  }

  addSlot(): number {
    const slot = this.slots++;
    this.lastMs = grownFloat64(this.lastMs, this.slots, 1, Number.NaN);
    this.localMs = grownFloat64(this.localMs, this.slots, 1, Number.NaN);
    this.cadenceMs = grownFloat64(this.cadenceMs, this.slots, 1, Number.NaN);
    return slot;
  }

  /** Newest event time of the slot, or NaN before its first sample. */
  lastOf(slot: number): number {
    return this.lastMs[slot] ?? Number.NaN;
  }

  /** Event time elapsed since the slot's newest sample (0 when `tMs` is not later, NaN before any). */
  gapOf(slot: number, tMs: number): number {
    const last = this.lastOf(slot);
    return Number.isNaN(last) ? Number.NaN : Math.max(0, tMs - last);
  }

  /** Advances the slot to event time `tMs` and returns its local time. */
  advance(slot: number, tMs: number): number {
    const last = this.lastMs[slot] ?? Number.NaN;
    if (Number.isNaN(last)) {
      this.lastMs[slot] = tMs;
      this.localMs[slot] = tMs;
      return tMs;
    }
    const local = this.localMs[slot] ?? tMs;
    const dt = tMs - last;
    if (!(dt > 0)) return local;
    this.lastMs[slot] = tMs;
    if (this.cadenceStepMs === undefined) {
      this.localMs[slot] = tMs;
      return tMs;
    }
    let cadence = this.cadenceMs[slot] ?? Number.NaN;
    const scaled = (dt * this.cadenceStepMs) / (Number.isNaN(cadence) ? dt : cadence);
    cadence = Number.isNaN(cadence)
      ? dt
      : cadence +
        CADENCE_RATE * (Math.min(CADENCE_CLAMP * cadence, Math.max(cadence / CADENCE_CLAMP, dt)) - cadence);
    this.cadenceMs[slot] = cadence;
    this.localMs[slot] = local + scaled;
    return local + scaled;
  }

  /** Forgets the slot's history: the next sample starts it afresh. */
  reset(slot: number): void {
    this.lastMs[slot] = Number.NaN;
    this.localMs[slot] = Number.NaN;
    this.cadenceMs[slot] = Number.NaN;
  }

  snapshot(slot: number): KeyClockState {
    return {
      lastMs: toJsonNumber(this.lastOf(slot)),
      localMs: toJsonNumber(this.localMs[slot] ?? Number.NaN),
      cadenceMs: toJsonNumber(this.cadenceMs[slot] ?? Number.NaN),
    };
  }

  restore(slot: number, state: KeyClockState): void {
    this.lastMs[slot] = fromJsonNumber(state.lastMs);
    this.localMs[slot] = fromJsonNumber(state.localMs);
    this.cadenceMs[slot] = fromJsonNumber(state.cadenceMs);
  }
}
