import type { DecayingStatsState } from "./decaying-stats.js";
import { DeltaEncoder, type DeltaEncoderState, ZScoreEncoder } from "./encoders.js";
import { KeyClock, type KeyClockState } from "./key-clock.js";
import { LevelCrossingEncoder, type LevelCrossingState } from "./level-crossing-encoder.js";
import { LifPopulation, type LifSlotState } from "./lif-population.js";
import type { SnnFilterOptions } from "./options.js";
import { type RecentSummary, RecentWindow } from "./recent-window.js";
import { SeasonalEncoder, type SeasonalState } from "./seasonal-encoder.js";
import { grownFloat64 } from "./slot-arrays.js";
import { InputSynapses, type SynapseState } from "./synapses.js";

/**
 * What each neuron of a key's population listens to, by index: a fast and a slow neuron on the
 * surprise of the value (single outliers vs. sustained shifts), a fast neuron on the surprise of the
 * change between samples (abrupt moves inside the normal range), and a slow neuron on the rate of
 * level crossings (the signal getting busier).
 */
export const NEURON_ROLES = ["level.fast", "level.slow", "change.fast", "crossing.slow"] as const;
export type NeuronRole = (typeof NEURON_ROLES)[number];

/** Input channels (encoders) feeding the synapses, by index. A log encoder would be one more. */
export const CHANNELS = ["value", "change", "crossing"] as const;

/**
 * Which model the value's surprise came from: the running mean, the daily seasonal baseline
 * ("seasonal"), or the weekly one.
 */
export type ValueBasis = "level" | "seasonal" | "weekly";

/** Per-slot basis codes, in the order of `ValueBasis`. */
const LEVEL = 0;
const DAILY = 1;
const WEEKLY = 2;
const BASES: readonly ValueBasis[] = ["level", "seasonal", "weekly"];

/** A neuron fired: which, how strongly, and the scores and recent values behind it. */
export interface Detection {
  neuron: number;
  role: NeuronRole;
  /** Potential over threshold at firing (≥ 1). */
  intensity: number;
  /** Standard score of the value (against the running mean, or the seasonal baseline: `basis`). */
  score: number;
  basis: ValueBasis;
  /** Standard score of the change from the previous value. */
  changeScore: number;
  recent: RecentSummary;
}

/** Plain-JSON state of one key, as written to the store. */
export interface KeyState {
  version: 2;
  clock: KeyClockState;
  lif: LifSlotState;
  level: DecayingStatsState;
  change: DeltaEncoderState;
  seasonal: SeasonalState | null;
  /** True while the value's surprise comes from a seasonal baseline (daily or weekly). */
  seasonalBasis: boolean;
  /**
   * The weekly baseline (`weekBins` > 0). Optional so that states written before it existed still
   * load: the weekly baseline then starts afresh.
   */
  weekly?: SeasonalState | null;
  /** True while the value's surprise comes from the weekly baseline. Absent: false. */
  weeklyBasis?: boolean;
  crossing: LevelCrossingState;
  synapses: SynapseState;
  recent: number[];
}

export type TelemetryNetworkConfig = Omit<
  SnnFilterOptions,
  "allowedLatenessMs" | "checkpointEveryMs" | "maxKeys"
>;

/** Maps a peak potential/threshold ratio r ≥ 0 to an anomaly score r / (1 + r): 0.5 exactly at threshold. */
export function anomalyScoreOf(peak: number): number {
  return peak > 0 ? peak / (1 + peak) : 0;
}

/**
 * The numeric core of the SNN filter. Per key: a clock (event time, optionally rescaled to the key's
 * cadence), encoders (adaptive z-score of the value, rate of change, seasonal baseline, level
 * crossing) feeding input channels, synapses (optionally plastic) onto a small LIF population, and a
 * window of recent values for context. Knows keys and numbers, not records or stores.
 *
 * After each `observe`, `anomalyScore` holds the event's anomaly score in [0, 1): the population's
 * peak potential/threshold r mapped to r / (1 + r), so a spike is exactly a score ≥ 0.5.
 */
export class TelemetryNetwork {
  /** Anomaly score of the last observed event. */
  anomalyScore = 0;
  /** True when the last observed event found its key silent for more than `maxGapMs` (it started over). */
  didReset = false;
  private readonly slots = new Map<string, number>();
  private readonly clock: KeyClock;
  private readonly level: ZScoreEncoder;
  private readonly change: DeltaEncoder;
  private readonly seasonal: SeasonalEncoder | undefined;
  private readonly weekly: SeasonalEncoder | undefined;
  private readonly crossing: LevelCrossingEncoder;
  private readonly synapses: InputSynapses;
  private readonly population: LifPopulation;
  private readonly recent: RecentWindow;
  private readonly inputs = new Float64Array(CHANNELS.length);
  private readonly currents = new Float64Array(NEURON_ROLES.length);
  /** Per slot: where the value's surprise comes from (LEVEL, DAILY or WEEKLY). */
  private basisOf = new Float64Array(0);
  private lastSlot = -1;
  private lastNeuron = -1;
  private lastIntensity = 0;
  private lastBasis: ValueBasis = "level";
  private lastValueScore = 0;

  constructor(private readonly config: TelemetryNetworkConfig) {
    const encoder = {
      statsTauMs: config.statsTauMs,
      deadband: config.zDeadband,
      warmupSamples: config.warmupSamples,
    };
    this.clock = new KeyClock(config.cadenceStepMs);
    this.level = new ZScoreEncoder(encoder);
    this.change = new DeltaEncoder(encoder);
    this.seasonal =
      config.seasonBins > 0
        ? new SeasonalEncoder({ ...encoder, periodMs: config.seasonPeriodMs, bins: config.seasonBins })
        : undefined;
    this.weekly =
      config.weekBins > 0
        ? new SeasonalEncoder({ ...encoder, periodMs: 7 * config.seasonPeriodMs, bins: config.weekBins })
        : undefined;
    this.crossing = new LevelCrossingEncoder(encoder);
    // initial[channel][neuron]
    this.synapses = new InputSynapses(
      [
        [1, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, config.crossingWeight],
      ],
      config.stdp,
    );
    this.population = new LifPopulation({
      neurons: [
        { tauMs: config.tauFastMs },
        { tauMs: config.tauSlowMs },
        { tauMs: config.tauFastMs },
        { tauMs: config.tauSlowMs },
      ],
      thresholdBase: config.thresholdBase,
      thresholdJump: config.thresholdJump,
      jumpByIntensity: config.jumpByIntensity,
      tauThresholdMs: config.tauThresholdMs,
      refractoryMs: config.refractoryMs,
      inhibition: config.inhibition,
      shunting: config.shunting,
      keyRefractoryMs: config.keyRefractoryMs,
    });
    this.recent = new RecentWindow(config.recentSamples);
  }

  /** Number of keys tracked. */
  get keyCount(): number {
    return this.slots.size;
  }

  hasKey(key: string): boolean {
    return this.slots.has(key);
  }

  /** The slot of a known key, or -1: one lookup for the per-record checks below. */
  slotIfKnown(key: string): number {
    return this.slots.get(key) ?? -1;
  }

  /** Newest event time seen for `key`, or undefined for a new key. */
  lastTimeOf(key: string): number | undefined {
    return this.lastTimeOfSlot(this.slotIfKnown(key));
  }

  /** `lastTimeOf` for a slot from `slotIfKnown` (-1: a new key). */
  lastTimeOfSlot(slot: number): number | undefined {
    if (slot < 0) return undefined;
    const last = this.clock.lastOf(slot);
    return Number.isNaN(last) ? undefined : last;
  }

  /**
   * True when (`tMs`, `value`) repeats `key`'s last sample: same event time as the key's newest and
   * the same value as the last one fed. A redelivered record, not new information.
   */
  isRepeat(key: string, tMs: number, value: number): boolean {
    return this.isRepeatSlot(this.slotIfKnown(key), tMs, value);
  }

  /** `isRepeat` for a slot from `slotIfKnown` (-1: a new key). */
  isRepeatSlot(slot: number, tMs: number, value: number): boolean {
    if (slot < 0) return false;
    return this.clock.lastOf(slot) === tMs && this.change.previousOf(slot) === value;
  }

  /** Current input weight of `channel` onto `neuron` for `key` (the initial weight unless STDP learned). */
  weightOf(key: string, channel: number, neuron: number): number | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.synapses.weightOf(slot, channel, neuron);
  }

  /**
   * Feeds one finite value of `key` at event time `tMs`. Returns the index of the neuron that fired,
   * or -1; `anomalyScore` and, after a spike, `detection()` describe the event. A `tMs` earlier than
   * the key's newest is applied at the newest time (Δt = 0).
   */
  observe(key: string, tMs: number, value: number): number {
    return this.observeSlot(this.slotOf(key), tMs, value);
  }

  /** `observe` for a slot from `slotOf`, skipping the key lookup. */
  observeSlot(slot: number, tMs: number, value: number): number {
    this.didReset = this.clock.gapOf(slot, tMs) > this.config.maxGapMs;
    if (this.didReset) this.resetSlot(slot);
    const local = this.clock.advance(slot, tMs);
    const eventMs = Math.max(tMs, this.clock.lastOf(slot));
    let valueCurrent = this.level.encode(slot, local, value);
    let valueScore = this.level.score;
    let basis = LEVEL;
    const variance = this.level.stats.varianceOf(slot);
    // A seasonal baseline takes over once it predicts the key clearly better than the running mean;
    // of the daily and the weekly one, the one with the smaller error.
    let bestError = this.config.seasonPreference * variance;
    let chosen: SeasonalEncoder | undefined;
    const daily = this.seasonal;
    if (daily !== undefined) {
      const current = daily.encode(slot, local, eventMs, value);
      const error = daily.meanSquaredError(slot);
      if (daily.isWarm(slot) && error < bestError) {
        valueCurrent = current;
        valueScore = daily.score;
        basis = DAILY;
        bestError = error;
        chosen = daily;
      }
    }
    const weekly = this.weekly;
    if (weekly !== undefined) {
      const current = weekly.encode(slot, local, eventMs, value);
      if (weekly.isWarm(slot) && weekly.meanSquaredError(slot) < bestError) {
        valueCurrent = current;
        valueScore = weekly.score;
        basis = WEEKLY;
        chosen = weekly;
      }
    }
    this.inputs[0] = valueCurrent;
    // On a seasonal basis the change and level-crossing encoders follow the residual, so the
    // pattern's own edges are not news; switching basis starts their series afresh.
    if (basis !== this.basisOf[slot]) {
      this.basisOf[slot] = basis;
      this.change.restart(slot);
      this.crossing.restart(slot);
    }
    const signal = chosen === undefined ? value : value - chosen.expected;
    const spread = Math.sqrt(chosen === undefined ? variance : chosen.meanSquaredError(slot));
    this.inputs[1] = this.change.encode(slot, local, signal);
    this.inputs[2] = this.crossing.encode(slot, local, signal, this.config.crossingStepSd * spread);
    this.synapses.project(slot, local, this.inputs, this.currents);
    const step = this.population.step(slot, local, this.currents);
    this.recent.push(slot, value);
    this.anomalyScore = anomalyScoreOf(this.population.lastPeak);
    this.lastSlot = slot;
    this.lastNeuron = step.neuron;
    if (step.neuron < 0) return -1;
    this.synapses.onSpike(slot, step.neuron);
    this.lastIntensity = step.intensity;
    this.lastBasis = BASES[basis] ?? "level";
    this.lastValueScore = valueScore;
    return step.neuron;
  }

  /** What the spike of the last `observe` was about; undefined when it did not fire. */
  detection(): Detection | undefined {
    if (this.lastNeuron < 0) return undefined;
    return {
      neuron: this.lastNeuron,
      role: NEURON_ROLES[this.lastNeuron] ?? "level.fast",
      intensity: this.lastIntensity,
      score: this.lastValueScore,
      basis: this.lastBasis,
      changeScore: this.change.score,
      recent: this.recent.summary(this.lastSlot),
    };
  }

  snapshot(key: string): KeyState | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    return {
      version: 2,
      clock: this.clock.snapshot(slot),
      lif: this.population.snapshot(slot),
      level: this.level.snapshot(slot),
      change: this.change.snapshot(slot),
      seasonal: this.seasonal?.snapshot(slot) ?? null,
      seasonalBasis: this.basisOf[slot] !== LEVEL,
      ...(this.weekly === undefined
        ? {}
        : { weekly: this.weekly.snapshot(slot), weeklyBasis: this.basisOf[slot] === WEEKLY }),
      crossing: this.crossing.snapshot(slot),
      synapses: this.synapses.snapshot(slot),
      recent: this.recent.snapshot(slot),
    };
  }

  /**
   * Loads a key's state (creating the key); a state of another version or shape is rejected. A state
   * without the weekly baseline (written before it existed, or with it off) starts that baseline
   * afresh; a weekly baseline in the state is ignored when this network has none.
   */
  restore(key: string, state: KeyState): void {
    if (state.version !== 2) {
      throw new RangeError(`TelemetryNetwork: unknown state version ${String(state.version)}`);
    }
    if ((state.seasonal === null) !== (this.seasonal === undefined)) {
      throw new RangeError("TelemetryNetwork: state and configuration disagree on the seasonal encoder");
    }
    const isNew = !this.slots.has(key);
    const slot = this.slotOf(key);
    try {
      this.population.restore(slot, state.lif);
      if (state.seasonal) this.seasonal?.restore(slot, state.seasonal);
      if (this.weekly !== undefined) {
        if (state.weekly) this.weekly.restore(slot, state.weekly);
        else this.weekly.reset(slot);
      }
    } catch (err) {
      if (isNew) this.resetSlot(slot);
      throw err;
    }
    this.clock.restore(slot, state.clock);
    this.level.restore(slot, state.level);
    this.change.restore(slot, state.change);
    this.crossing.restore(slot, state.crossing);
    const weeklyBasis = state.weeklyBasis === true && this.weekly !== undefined && state.weekly != null;
    this.basisOf[slot] = !state.seasonalBasis ? LEVEL : weeklyBasis ? WEEKLY : DAILY;
    this.synapses.restore(slot, state.synapses);
    this.recent.restore(slot, state.recent);
  }

  /** The dense slot of `key`, allocated at rest for a new key. */
  slotOf(key: string): number {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.population.addSlot();
      this.clock.addSlot();
      this.level.addSlot();
      this.change.addSlot();
      this.seasonal?.addSlot();
      this.weekly?.addSlot();
      this.crossing.addSlot();
      this.synapses.addSlot();
      this.recent.addSlot();
      this.basisOf = grownFloat64(this.basisOf, slot + 1, 1, LEVEL);
      this.slots.set(key, slot);
    }
    return slot;
  }

  private resetSlot(slot: number): void {
    this.clock.reset(slot);
    this.population.reset(slot);
    this.level.reset(slot);
    this.change.reset(slot);
    this.seasonal?.reset(slot);
    this.weekly?.reset(slot);
    this.crossing.reset(slot);
    this.synapses.reset(slot);
    this.recent.restore(slot, []);
    this.basisOf[slot] = LEVEL;
  }
}
