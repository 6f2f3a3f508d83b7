import type { StdpOptions } from "./options.js";
import { DecayFactor, fromJsonNumber, grownFloat64, toJsonNumber } from "./slot-arrays.js";

/** Plain-JSON state of one key's synapses; `weights` is null while plasticity is off. */
export interface SynapseState {
  lastMs: number | null;
  weights: number[] | null;
  pre: number[];
  post: number[];
}

/**
 * The input synapses of each key's population: neuron n receives Σ_c w[c][n] · input[c] from the
 * encoder channels c. Weights start at `initial` for every key.
 *
 * With STDP on, each key learns its own weights from spike timing, on local time: every channel keeps
 * a presynaptic trace (its input, decaying with `tauPlusMs`) and every neuron a postsynaptic trace (its
 * spikes, decaying with `tauMinusMs`). When neuron n fires, each w[c][n] grows by `aPlus` · pre[c]
 * (inputs that led up to the spike are strengthened); when channel c carries input, each w[c][n]
 * shrinks by `aMinus` · post[n] · input[c] (input arriving just after a spike, which did not cause it,
 * is weakened). Weights stay within [0, `weightMax`].
 */
export class InputSynapses {
  readonly channels: number;
  readonly neurons: number;
  private readonly initial: Float64Array;
  private weights = new Float64Array(0);
  private pre = new Float64Array(0);
  private post = new Float64Array(0);
  private lastMs = new Float64Array(0);
  private slots = 0;
  private readonly preDecay: DecayFactor;
  private readonly postDecay: DecayFactor;

  /** @param initial weights as initial[channel][neuron]. */
  constructor(
    initial: ReadonlyArray<readonly number[]>,
    private readonly stdp: StdpOptions,
  ) {
    this.preDecay = new DecayFactor(stdp.tauPlusMs);
    this.postDecay = new DecayFactor(stdp.tauMinusMs);
    this.channels = initial.length;
    this.neurons = initial[0]?.length ?? 0;
    if (this.channels === 0 || this.neurons === 0) throw new RangeError("InputSynapses: empty weight matrix");
    this.initial = new Float64Array(this.channels * this.neurons);
    for (let c = 0; c < this.channels; c++) {
      const row = initial[c]!;
      if (row.length !== this.neurons) throw new RangeError("InputSynapses: ragged weight matrix");
      for (let n = 0; n < this.neurons; n++) {
        const w = row[n]!;
        if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`InputSynapses: weight ${w} is not ≥ 0`);
        this.initial[c * this.neurons + n] = w;
      }
    }
  }

  get isPlastic(): boolean {
    return this.stdp.enabled;
  }

  addSlot(): number {
    const slot = this.slots++;
    if (this.stdp.enabled) {
      const size = this.channels * this.neurons;
      this.weights = grownFloat64(this.weights, this.slots, size, 0);
      this.weights.set(this.initial, slot * size);
      this.pre = grownFloat64(this.pre, this.slots, this.channels, 0);
      this.post = grownFloat64(this.post, this.slots, this.neurons, 0);
      this.lastMs = grownFloat64(this.lastMs, this.slots, 1, Number.NaN);
    }
    return slot;
  }

  /** Weight of channel `c` onto neuron `n` for the slot. */
  weightOf(slot: number, c: number, n: number): number {
    const size = this.channels * this.neurons;
    const w = this.stdp.enabled ? this.weights[slot * size + c * this.neurons + n] : undefined;
    return w ?? this.initial[c * this.neurons + n] ?? 0;
  }

  /**
   * Writes the neurons' input currents for the channels' `inputs` at local time `tMs` into `out`;
   * with STDP on, first decays the traces, depresses synapses whose input follows a spike, and adds
   * the inputs to the presynaptic traces.
   */
  project(slot: number, tMs: number, inputs: Float64Array, out: Float64Array): void {
    const C = this.channels;
    const N = this.neurons;
    if (!this.stdp.enabled) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let c = 0; c < C; c++) sum += (this.initial[c * N + n] ?? 0) * (inputs[c] ?? 0);
        out[n] = sum;
      }
      return;
    }
    const { aMinus, weightMax } = this.stdp;
    const last = this.lastMs[slot] ?? Number.NaN;
    const dt = Number.isNaN(last) || tMs <= last ? 0 : tMs - last;
    if (Number.isNaN(last) || tMs > last) this.lastMs[slot] = tMs;
    const preDecay = this.preDecay.of(dt);
    const postDecay = this.postDecay.of(dt);
    const wBase = slot * C * N;
    for (let n = 0; n < N; n++) this.post[slot * N + n] = (this.post[slot * N + n] ?? 0) * postDecay;
    for (let c = 0; c < C; c++) {
      const x = inputs[c] ?? 0;
      this.pre[slot * C + c] = (this.pre[slot * C + c] ?? 0) * preDecay + x;
      if (x <= 0 || aMinus === 0) continue;
      for (let n = 0; n < N; n++) {
        const j = wBase + c * N + n;
        const w = (this.weights[j] ?? 0) - aMinus * (this.post[slot * N + n] ?? 0) * x;
        this.weights[j] = w < 0 ? 0 : w > weightMax ? weightMax : w;
      }
    }
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let c = 0; c < C; c++) sum += (this.weights[wBase + c * N + n] ?? 0) * (inputs[c] ?? 0);
      out[n] = sum;
    }
  }

  /** Neuron `n` of the slot fired: potentiate its synapses by their presynaptic traces. */
  onSpike(slot: number, n: number): void {
    if (!this.stdp.enabled) return;
    const C = this.channels;
    const N = this.neurons;
    const { aPlus, weightMax } = this.stdp;
    for (let c = 0; c < C; c++) {
      const j = slot * C * N + c * N + n;
      const w = (this.weights[j] ?? 0) + aPlus * (this.pre[slot * C + c] ?? 0);
      this.weights[j] = w > weightMax ? weightMax : w;
    }
    this.post[slot * N + n] = (this.post[slot * N + n] ?? 0) + 1;
  }

  reset(slot: number): void {
    if (!this.stdp.enabled) return;
    this.pre.fill(0, slot * this.channels, (slot + 1) * this.channels);
    this.post.fill(0, slot * this.neurons, (slot + 1) * this.neurons);
    this.lastMs[slot] = Number.NaN;
  }

  snapshot(slot: number): SynapseState {
    if (!this.stdp.enabled) return { lastMs: null, weights: null, pre: [], post: [] };
    const C = this.channels;
    const N = this.neurons;
    return {
      lastMs: toJsonNumber(this.lastMs[slot] ?? Number.NaN),
      weights: Array.from(this.weights.subarray(slot * C * N, (slot + 1) * C * N)),
      pre: Array.from(this.pre.subarray(slot * C, (slot + 1) * C)),
      post: Array.from(this.post.subarray(slot * N, (slot + 1) * N)),
    };
  }

  /** Loads a snapshot; one taken with plasticity off (or of another shape) leaves the initial weights. */
  restore(slot: number, state: SynapseState): void {
    if (!this.stdp.enabled) return;
    const C = this.channels;
    const N = this.neurons;
    const fits = state.weights?.length === C * N && state.pre.length === C && state.post.length === N;
    if (!fits || state.weights === null) return;
    this.weights.set(state.weights, slot * C * N);
    this.pre.set(state.pre, slot * C);
    this.post.set(state.post, slot * N);
    this.lastMs[slot] = fromJsonNumber(state.lastMs);
  }
}
