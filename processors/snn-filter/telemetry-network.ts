import type { DecayingStatsState } from "./decaying-stats.js";
import { DeltaEncoder, type DeltaEncoderState, ZScoreEncoder } from "./encoders.js";
import { type LifConfig, LifPopulation, type LifSlotState } from "./lif-population.js";
import type { SnnFilterOptions } from "./options.js";
import { type RecentSummary, RecentWindow } from "./recent-window.js";

/**
 * What each neuron of a key's population listens to, by index: a fast and a slow neuron on the
 * z-score of the values (single outliers vs. sustained shifts) and a fast neuron on the z-score of
 * the change between samples (abrupt moves inside the normal range).
 */
export const NEURON_ROLES = ["level.fast", "level.slow", "change.fast"] as const;
export type NeuronRole = (typeof NEURON_ROLES)[number];

/** A neuron fired: which, how strongly, and the scores and recent values behind it. */
export interface Detection {
  neuron: number;
  role: NeuronRole;
  /** Potential over threshold at firing (≥ 1). */
  intensity: number;
  /** Standard score of the value. */
  score: number;
  /** Standard score of the change from the previous value. */
  changeScore: number;
  recent: RecentSummary;
}

/** Plain-JSON state of one key, as written to the store. */
export interface KeyState {
  version: 1;
  lif: LifSlotState;
  level: DecayingStatsState;
  change: DeltaEncoderState;
  recent: number[];
}

export type TelemetryNetworkConfig = Pick<
  SnnFilterOptions,
  | "tauFastMs"
  | "tauSlowMs"
  | "thresholdBase"
  | "thresholdJump"
  | "tauThresholdMs"
  | "refractoryMs"
  | "inhibition"
  | "statsTauMs"
  | "zDeadband"
  | "warmupSamples"
  | "recentSamples"
>;

/**
 * The numeric core of the SNN filter: per key, two encoders feeding a small LIF population, plus a
 * window of recent values for context. Knows keys and numbers, not records or stores.
 */
export class TelemetryNetwork {
  private readonly slots = new Map<string, number>();
  private readonly level: ZScoreEncoder;
  private readonly change: DeltaEncoder;
  private readonly population: LifPopulation;
  private readonly recent: RecentWindow;
  private readonly currents = new Float64Array(NEURON_ROLES.length);

  constructor(config: TelemetryNetworkConfig) {
    const encoder = {
      statsTauMs: config.statsTauMs,
      deadband: config.zDeadband,
      warmupSamples: config.warmupSamples,
    };
    this.level = new ZScoreEncoder(encoder);
    this.change = new DeltaEncoder(encoder);
    const lif: LifConfig = {
      neurons: [{ tauMs: config.tauFastMs }, { tauMs: config.tauSlowMs }, { tauMs: config.tauFastMs }],
      thresholdBase: config.thresholdBase,
      thresholdJump: config.thresholdJump,
      tauThresholdMs: config.tauThresholdMs,
      refractoryMs: config.refractoryMs,
      inhibition: config.inhibition,
    };
    this.population = new LifPopulation(lif);
    this.recent = new RecentWindow(config.recentSamples);
  }

  /** Number of keys tracked. */
  get keyCount(): number {
    return this.slots.size;
  }

  /** Newest event time seen for `key`, or undefined for a new key. */
  lastTimeOf(key: string): number | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.population.lastTimeOf(slot);
  }

  /**
   * True when (`tMs`, `value`) repeats `key`'s last sample: same event time as the key's newest and
   * the same value as the last one fed. A redelivered record, not new information.
   */
  isRepeat(key: string, tMs: number, value: number): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    return this.population.lastTimeOf(slot) === tMs && this.change.previousOf(slot) === value;
  }

  /**
   * Feeds one finite value of `key` at event time `tMs`; returns a Detection when a neuron fires,
   * else null. A `tMs` earlier than the key's newest is applied at the newest time (Δt = 0).
   */
  observe(key: string, tMs: number, value: number): Detection | null {
    const slot = this.slotOf(key);
    const level = this.level.encode(slot, tMs, value);
    const change = this.change.encode(slot, tMs, value);
    this.currents[0] = level.current;
    this.currents[1] = level.current;
    this.currents[2] = change.current;
    const step = this.population.step(slot, tMs, this.currents);
    this.recent.push(slot, value);
    if (step.neuron < 0) return null;
    return {
      neuron: step.neuron,
      role: NEURON_ROLES[step.neuron] ?? "level.fast",
      intensity: step.intensity,
      score: level.score,
      changeScore: change.score,
      recent: this.recent.summary(slot),
    };
  }

  snapshot(key: string): KeyState | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    return {
      version: 1,
      lif: this.population.snapshot(slot),
      level: this.level.snapshot(slot),
      change: this.change.snapshot(slot),
      recent: this.recent.snapshot(slot),
    };
  }

  /** Loads a key's state (creating the key); a state from an incompatible version is rejected. */
  restore(key: string, state: KeyState): void {
    if (state.version !== 1)
      throw new RangeError(`TelemetryNetwork: unknown state version ${String(state.version)}`);
    const slot = this.slotOf(key);
    this.population.restore(slot, state.lif);
    this.level.restore(slot, state.level);
    this.change.restore(slot, state.change);
    this.recent.restore(slot, state.recent);
  }

  private slotOf(key: string): number {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.population.addSlot();
      this.level.addSlot();
      this.change.addSlot();
      this.recent.addSlot();
      this.slots.set(key, slot);
    }
    return slot;
  }
}
