import { DecayFactor, fromJsonNumber, grownFloat64, sliceToArray, toJsonNumber } from "./slot-arrays.js";

/** One neuron of the per-key population. */
export interface LifNeuronConfig {
  /** Membrane time constant in milliseconds of event time: the potential falls to 1/e over this span. */
  tauMs: number;
}

/** Parameters shared by every key's population. Potentials, thresholds and currents share one unit. */
export interface LifConfig {
  /** The neurons of one key's population, in index order. */
  neurons: readonly LifNeuronConfig[];
  /** Resting firing threshold (> 0). */
  thresholdBase: number;
  /** Added to a neuron's threshold each time it fires (homeostasis: a busy neuron gets harder to fire). */
  thresholdJump: number;
  /**
   * When true, a spike raises the threshold by `thresholdJump` × its intensity (potential over
   * threshold, ≥ 1) instead: a neuron driven r times over its threshold adapts as if it had fired a
   * burst of r spikes. Default false.
   */
  jumpByIntensity?: boolean;
  /** Time constant in milliseconds with which a raised threshold relaxes back to `thresholdBase`. */
  tauThresholdMs: number;
  /** After firing, a neuron ignores input for this many milliseconds of event time. */
  refractoryMs: number;
  /** Subtracted from the potential of every other neuron of the same key when one fires (lateral inhibition). */
  inhibition: number;
  /**
   * Share in [0, 1] of the other neurons' potential removed when one fires, before `inhibition` is
   * subtracted (shunting inhibition; 1 = winner takes all: one event ends in one spike). Default 0.
   */
  shunting?: number;
  /**
   * After a spike, the key's other neurons also ignore input for this many milliseconds (a key-wide
   * refractory period, so the tail of the same event does not fire a second neuron). Default 0.
   */
  keyRefractoryMs?: number;
}

/** Plain-JSON state of one key's population, for the state store. Times are epoch ms; null = never. */
export interface LifSlotState {
  lastMs: number | null;
  potential: number[];
  threshold: number[];
  refractoryUntilMs: Array<number | null>;
}

/** What one step did: the neuron that fired (-1 when none) and its potential over its threshold (≥ 1). */
export interface LifStep {
  readonly neuron: number;
  readonly intensity: number;
}

export const NO_SPIKE: LifStep = Object.freeze({ neuron: -1, intensity: 0 });

/**
 * Leaky integrate-and-fire neurons, a small population per key slot, with adaptive thresholds,
 * refractory periods and lateral inhibition. Pure math: it knows nothing of records or stores.
 *
 * Dynamics are event-driven on event time: between two inputs at t₀ and t₁ the potential decays
 * exactly, v ← v·exp(-(t₁-t₀)/τ), and a raised threshold relaxes toward its base the same way, so
 * irregular spacing needs no fixed time step and a replay gives the same spikes. Each input is a
 * charge added to the potential at that instant.
 *
 * State lives in Float64Arrays indexed by `slot * neuronCount + neuron`, so the cost of a step does
 * not grow with the number of keys.
 */
export class LifPopulation {
  readonly neuronCount: number;
  /**
   * After each step: the largest potential / threshold among the neurons that were not refractory,
   * measured after the input and before any reset (≥ 1 when one fired, 0 when none is positive).
   */
  lastPeak = 0;
  private readonly config: LifConfig;
  private readonly leak: DecayFactor[];
  private readonly thresholdLeak: DecayFactor;
  /** 1 - shunting: what the other neurons keep of their potential when one fires. */
  private readonly keep: number;
  private readonly keyRefractoryMs: number;
  private potential = new Float64Array(0);
  private threshold = new Float64Array(0);
  private refractoryUntilMs = new Float64Array(0);
  private lastMs = new Float64Array(0);
  private slots = 0;

  constructor(config: LifConfig) {
    const positive = { thresholdBase: config.thresholdBase, tauThresholdMs: config.tauThresholdMs };
    for (const [name, x] of Object.entries(positive)) {
      if (!(x > 0) || !Number.isFinite(x))
        throw new RangeError(`LifPopulation: ${name} must be > 0, got ${x}`);
    }
    const nonNegative = {
      thresholdJump: config.thresholdJump,
      refractoryMs: config.refractoryMs,
      inhibition: config.inhibition,
    };
    for (const [name, x] of Object.entries(nonNegative)) {
      if (!(x >= 0) || !Number.isFinite(x))
        throw new RangeError(`LifPopulation: ${name} must be ≥ 0, got ${x}`);
    }
    const shunting = config.shunting ?? 0;
    if (!(shunting >= 0 && shunting <= 1)) {
      throw new RangeError(`LifPopulation: shunting must be within [0, 1], got ${shunting}`);
    }
    const keyRefractoryMs = config.keyRefractoryMs ?? 0;
    if (!(keyRefractoryMs >= 0) || !Number.isFinite(keyRefractoryMs)) {
      throw new RangeError(`LifPopulation: keyRefractoryMs must be ≥ 0, got ${keyRefractoryMs}`);
    }
    this.keep = 1 - shunting;
    this.keyRefractoryMs = keyRefractoryMs;
    if (config.neurons.length === 0) throw new RangeError("LifPopulation: needs at least one neuron");
    for (const n of config.neurons) {
      if (!(n.tauMs > 0) || !Number.isFinite(n.tauMs)) {
        throw new RangeError(`LifPopulation: neuron tauMs must be > 0, got ${n.tauMs}`);
      }
    }
    this.config = config;
    this.neuronCount = config.neurons.length;
    this.leak = config.neurons.map((n) => new DecayFactor(n.tauMs));
    this.thresholdLeak = new DecayFactor(config.tauThresholdMs);
  }

  /** Number of slots allocated so far. */
  get slotCount(): number {
    return this.slots;
  }

  /** Allocates a slot at rest: potentials 0, thresholds at base, not refractory, no input seen yet. */
  addSlot(): number {
    const slot = this.slots++;
    const n = this.neuronCount;
    this.potential = grownFloat64(this.potential, this.slots, n, 0);
    this.threshold = grownFloat64(this.threshold, this.slots, n, this.config.thresholdBase);
    this.refractoryUntilMs = grownFloat64(this.refractoryUntilMs, this.slots, n, Number.NaN);
    this.lastMs = grownFloat64(this.lastMs, this.slots, 1, Number.NaN);
    return slot;
  }

  /**
   * Advances `slot` to event time `tMs`, adds `currents[i]` to neuron i (unless refractory), and fires
   * at most one neuron: among those at or over threshold, the one with the largest potential /
   * threshold (lowest index on ties). The winner resets to 0, raises its threshold by
   * `thresholdJump` (times its intensity with `jumpByIntensity`), turns refractory, and inhibits the others (they keep 1 - `shunting` of their
   * potential, minus `inhibition`, and ignore input for `keyRefractoryMs`).
   *
   * A `tMs` earlier than the slot's last update is applied at the last update time (Δt = 0): time
   * never runs backwards inside the population.
   */
  step(slot: number, tMs: number, currents: ArrayLike<number>): LifStep {
    this.checkSlot(slot);
    const n = this.neuronCount;
    const { thresholdBase } = this.config;
    const last = this.lastMs[slot] ?? Number.NaN;
    const t = Number.isNaN(last) ? tMs : Math.max(tMs, last);
    const dt = Number.isNaN(last) ? 0 : t - last;
    this.lastMs[slot] = t;
    const thresholdDecay = this.thresholdLeak.of(dt);
    const base = slot * n;
    let winner = -1;
    let best = 0;
    let peak = 0;
    for (let i = 0; i < n; i++) {
      const j = base + i;
      const current = currents[i] ?? 0;
      if (!Number.isFinite(current)) throw new RangeError(`LifPopulation.step: current ${i} is ${current}`);
      let v = (this.potential[j] ?? 0) * this.leak[i]!.of(dt);
      const theta = thresholdBase + ((this.threshold[j] ?? thresholdBase) - thresholdBase) * thresholdDecay;
      // NaN (never fired) compares false: not refractory.
      const isRefractory = t < (this.refractoryUntilMs[j] ?? Number.NaN);
      if (!isRefractory) v += current;
      this.potential[j] = v;
      this.threshold[j] = theta;
      if (isRefractory) continue;
      const ratio = v / theta;
      if (ratio > peak) peak = ratio;
      if (v >= theta && (winner < 0 || ratio > best)) {
        winner = i;
        best = ratio;
      }
    }
    this.lastPeak = peak;
    if (winner < 0) return NO_SPIKE;
    this.fire(base, winner, t, best);
    return { neuron: winner, intensity: best };
  }

  /** Puts the slot back at rest, as a new slot starts. */
  reset(slot: number): void {
    this.checkSlot(slot);
    const n = this.neuronCount;
    this.potential.fill(0, slot * n, (slot + 1) * n);
    this.threshold.fill(this.config.thresholdBase, slot * n, (slot + 1) * n);
    this.refractoryUntilMs.fill(Number.NaN, slot * n, (slot + 1) * n);
    this.lastMs[slot] = Number.NaN;
  }

  /** Event time of the slot's last step, or undefined before its first. */
  lastTimeOf(slot: number): number | undefined {
    this.checkSlot(slot);
    const last = this.lastMs[slot] ?? Number.NaN;
    return Number.isNaN(last) ? undefined : last;
  }

  /** Membrane potential of one neuron as of its slot's last update. */
  potentialOf(slot: number, neuron: number): number {
    this.checkSlot(slot);
    return this.potential[slot * this.neuronCount + neuron] ?? Number.NaN;
  }

  /** Firing threshold of one neuron as of its slot's last update. */
  thresholdOf(slot: number, neuron: number): number {
    this.checkSlot(slot);
    return this.threshold[slot * this.neuronCount + neuron] ?? Number.NaN;
  }

  snapshot(slot: number): LifSlotState {
    this.checkSlot(slot);
    const from = slot * this.neuronCount;
    const to = from + this.neuronCount;
    return {
      lastMs: toJsonNumber(this.lastMs[slot] ?? Number.NaN),
      potential: sliceToArray(this.potential, from, to),
      threshold: sliceToArray(this.threshold, from, to),
      refractoryUntilMs: sliceToArray(this.refractoryUntilMs, from, to, toJsonNumber),
    };
  }

  /** Overwrites `slot` with a snapshot; a snapshot of a different population size is rejected. */
  restore(slot: number, state: LifSlotState): void {
    this.checkSlot(slot);
    const n = this.neuronCount;
    if (
      state.potential.length !== n ||
      state.threshold.length !== n ||
      state.refractoryUntilMs.length !== n
    ) {
      throw new RangeError(
        `LifPopulation.restore: snapshot has ${state.potential.length} neurons, expected ${n}`,
      );
    }
    const base = slot * n;
    this.lastMs[slot] = fromJsonNumber(state.lastMs);
    for (let i = 0; i < n; i++) {
      this.potential[base + i] = state.potential[i] ?? 0;
      this.threshold[base + i] = state.threshold[i] ?? this.config.thresholdBase;
      this.refractoryUntilMs[base + i] = fromJsonNumber(state.refractoryUntilMs[i]);
    }
  }

  private fire(base: number, winner: number, tMs: number, intensity: number): void {
    const { thresholdJump, refractoryMs, inhibition } = this.config;
    const jump = this.config.jumpByIntensity === true ? thresholdJump * intensity : thresholdJump;
    for (let i = 0; i < this.neuronCount; i++) {
      const j = base + i;
      if (i === winner) {
        this.potential[j] = 0;
        this.threshold[j] = (this.threshold[j] ?? 0) + jump;
        this.refractoryUntilMs[j] = tMs + refractoryMs;
      } else {
        this.potential[j] = (this.potential[j] ?? 0) * this.keep - inhibition;
        const until = tMs + this.keyRefractoryMs;
        // NaN (never refractory) compares false: set. A longer refractory period is kept.
        if (this.keyRefractoryMs > 0 && !(until <= (this.refractoryUntilMs[j] ?? Number.NaN))) {
          this.refractoryUntilMs[j] = until;
        }
      }
    }
  }

  private checkSlot(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      throw new RangeError(`LifPopulation: slot ${slot} is not allocated (0..${this.slots - 1})`);
    }
  }
}
