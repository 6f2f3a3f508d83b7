import { LifPopulation, type LifSlotState } from "../lif-population.js";
import { TemplateRateEncoder, type TemplateRatesConfig, type TemplateRatesState } from "./template-rates.js";

/**
 * What each neuron of a source's population listens to, by index: a template the source never
 * produced before, a template showing up more often than usual, and the source logging more than
 * usual as a whole. Each has its own input channel (identity synapses).
 */
export const LOG_NEURON_ROLES = ["template.new", "template.rate", "source.volume"] as const;
export type LogNeuronRole = (typeof LOG_NEURON_ROLES)[number];

export interface LogNetworkConfig extends TemplateRatesConfig {
  /** Membrane time constant (ms) of the novelty and template-rate neurons. */
  tauFastMs: number;
  /** Membrane time constant (ms) of the volume neuron, which integrates sustained floods. */
  tauSlowMs: number;
  thresholdBase: number;
  thresholdJump: number;
  tauThresholdMs: number;
  refractoryMs: number;
  inhibition: number;
}

/** Plain-JSON state of one source, as written to the store. */
export interface LogSourceState {
  version: 1;
  lif: LifSlotState;
  rates: TemplateRatesState;
}

/** A neuron fired on a line: which, how strongly, and the scores behind it. */
export interface LogDetection {
  neuron: number;
  role: LogNeuronRole;
  /** Potential over threshold at firing (≥ 1). */
  intensity: number;
  /** The line's template was new to the source. */
  isNovel: boolean;
  /** Rate score of the line's template (recent vs. long-run count). */
  rateScore: number;
  /** Rate score of all the source's lines. */
  volumeScore: number;
  /** Lines of the template in the source's recent window (decayed count, before this line). */
  recentLines: number;
}

/**
 * The numeric core of the SNN log filter: per source, a template-rate encoder (rate coding of the
 * template ids the miner assigns, novelty of templates, volume of lines) feeding a three-neuron
 * LIF population. Knows sources, template ids and numbers, not records, text or stores.
 */
export class LogNetwork {
  private readonly slots = new Map<string, number>();
  private readonly rates: TemplateRateEncoder;
  private readonly population: LifPopulation;
  private readonly currents = new Float64Array(LOG_NEURON_ROLES.length);
  private last: LogDetection | undefined;

  constructor(config: LogNetworkConfig) {
    this.rates = new TemplateRateEncoder(config);
    this.population = new LifPopulation({
      neurons: [{ tauMs: config.tauFastMs }, { tauMs: config.tauFastMs }, { tauMs: config.tauSlowMs }],
      thresholdBase: config.thresholdBase,
      thresholdJump: config.thresholdJump,
      tauThresholdMs: config.tauThresholdMs,
      refractoryMs: config.refractoryMs,
      inhibition: config.inhibition,
    });
  }

  get keyCount(): number {
    return this.slots.size;
  }

  hasKey(source: string): boolean {
    return this.slots.has(source);
  }

  /** Newest event time seen for a source, or undefined for a new one. */
  lastTimeOf(source: string): number | undefined {
    const slot = this.slots.get(source);
    return slot === undefined ? undefined : this.rates.lastTimeOf(slot);
  }

  /**
   * Feeds one line of `source` at event time `tMs` whose template is `templateId`. Returns the
   * index of the neuron that fired, or -1; after a spike `detection()` describes it. A `tMs`
   * earlier than the source's newest is applied at the newest time (Δt = 0).
   */
  observe(source: string, tMs: number, templateId: number): number {
    const slot = this.slotOf(source);
    const recentLines = this.rates.recentLinesOf(slot, templateId);
    this.currents[1] = this.rates.encode(slot, tMs, templateId);
    this.currents[0] = this.rates.noveltyCurrent;
    this.currents[2] = this.rates.volumeCurrent;
    const step = this.population.step(slot, tMs, this.currents);
    if (step.neuron < 0) {
      this.last = undefined;
      return -1;
    }
    this.last = {
      neuron: step.neuron,
      role: LOG_NEURON_ROLES[step.neuron] ?? "template.new",
      intensity: step.intensity,
      isNovel: this.rates.isNovel,
      rateScore: this.rates.score,
      volumeScore: this.rates.volumeScore,
      recentLines,
    };
    return step.neuron;
  }

  /** What the spike of the last `observe` was about; undefined when it did not fire. */
  detection(): LogDetection | undefined {
    return this.last;
  }

  snapshot(source: string): LogSourceState | undefined {
    const slot = this.slots.get(source);
    if (slot === undefined) return undefined;
    return { version: 1, lif: this.population.snapshot(slot), rates: this.rates.snapshot(slot) };
  }

  /** Loads a source's state (creating the source); a state of another version or shape is rejected. */
  restore(source: string, state: LogSourceState): void {
    if (state.version !== 1) {
      throw new RangeError(`LogNetwork: unknown state version ${String(state.version)}`);
    }
    const isNew = !this.slots.has(source);
    const slot = this.slotOf(source);
    try {
      this.population.restore(slot, state.lif);
    } catch (err) {
      if (isNew) this.population.reset(slot);
      throw err;
    }
    this.rates.restore(slot, state.rates);
  }

  private slotOf(source: string): number {
    let slot = this.slots.get(source);
    if (slot === undefined) {
      slot = this.population.addSlot();
      this.rates.addSlot();
      this.slots.set(source, slot);
    }
    return slot;
  }
}
