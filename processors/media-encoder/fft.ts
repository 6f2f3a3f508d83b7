/**
 * Magnitude spectrum of real frames of one power-of-two size: an iterative radix-2 FFT with
 * precomputed twiddles and bit reversal, and a Hann window. Allocation-free per frame.
 */
export class MagnitudeSpectrum {
  /** Bins 0 .. size/2 - 1. */
  readonly bins: number;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly reversed: Uint32Array;
  private readonly window: Float64Array;

  constructor(readonly size: number) {
    if (size < 2 || (size & (size - 1)) !== 0) throw new RangeError(`FFT size ${size} is not a power of two`);
    this.bins = size / 2;
    this.re = new Float64Array(size);
    this.im = new Float64Array(size);
    this.cos = new Float64Array(size / 2);
    this.sin = new Float64Array(size / 2);
    for (let k = 0; k < size / 2; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = -Math.sin((2 * Math.PI * k) / size);
    }
    this.reversed = new Uint32Array(size);
    const bits = Math.log2(size);
    for (let i = 0; i < size; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.reversed[i] = r;
    }
    this.window = new Float64Array(size);
    for (let i = 0; i < size; i++) this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size);
  }

  /**
   * Writes |X[k]| / (size / 4) for k < bins into `out` (a full-scale sine gives a peak near 1) for
   * the Hann-windowed samples `from .. from + size` of `samples`, zero beyond its end.
   */
  compute(samples: Float32Array, from: number, out: Float32Array): void {
    const { size, re, im, reversed, window } = this;
    const cos = this.cos;
    const sin = this.sin;
    const available = Math.min(size, samples.length - from);
    for (let i = 0; i < size; i++) {
      const j = reversed[i]!;
      re[j] = i < available ? samples[from + i]! * window[i]! : 0;
      im[j] = 0;
    }
    for (let half = 1, stride = size >> 1; half < size; half <<= 1, stride >>= 1) {
      for (let start = 0; start < size; start += half << 1) {
        for (let k = 0, t = 0; k < half; k++, t += stride) {
          const wr = cos[t]!;
          const wi = sin[t]!;
          const a = start + k;
          const b = a + half;
          const br = re[b]!;
          const bi = im[b]!;
          const tr = br * wr - bi * wi;
          const ti = br * wi + bi * wr;
          const ar = re[a]!;
          const ai = im[a]!;
          re[b] = ar - tr;
          im[b] = ai - ti;
          re[a] = ar + tr;
          im[a] = ai + ti;
        }
      }
    }
    const scale = 4 / size;
    for (let k = 0; k < this.bins; k++) out[k] = Math.sqrt(re[k]! * re[k]! + im[k]! * im[k]!) * scale;
  }
}
