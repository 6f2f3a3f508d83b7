import { MagnitudeSpectrum } from "./fft.js";

/** Classic features of one clip, and its spectrum. */
export interface AudioFeatures {
  /** Root mean square of the samples (full scale 1). */
  rms: number;
  /** Share of consecutive sample pairs whose sign differs, in [0, 1]. */
  zcr: number;
  /**
   * Mean spectral flux over the clip's frames: the summed increase of each bin's magnitude from
   * the previous frame (half-wave rectified), per bin. The first frame is compared with the last
   * frame of the previous clip when given; null when no frame has a predecessor.
   */
  flux: number | null;
  /** Mean over frames of log(1 + 100·|X[k]|) per bin: a spectrum embedding (empty unless asked for). */
  spectrum: Float32Array;
  /** Magnitudes of the clip's last frame, for the next clip's flux. */
  lastMagnitudes: Float32Array;
}

/** Cuts clips into frames of `frameSamples` every `hopSamples` and computes their features. */
export class AudioAnalyzer {
  private readonly fft: MagnitudeSpectrum;
  private current: Float32Array;
  private previous: Float32Array;

  constructor(
    private readonly frameSamples: number,
    private readonly hopSamples: number,
  ) {
    this.fft = new MagnitudeSpectrum(frameSamples);
    this.current = new Float32Array(this.fft.bins);
    this.previous = new Float32Array(this.fft.bins);
  }

  get bins(): number {
    return this.fft.bins;
  }

  /**
   * Features of `samples`; `before` is the previous clip's `lastMagnitudes` (null for a first clip).
   * `withSpectrum` false skips the spectrum embedding (a model embeds the clip instead).
   */
  analyze(samples: Float32Array, before: Float32Array | null, withSpectrum = true): AudioFeatures {
    let energy = 0;
    let crossings = 0;
    for (let i = 0; i < samples.length; i++) {
      const x = samples[i]!;
      energy += x * x;
      if (i > 0 && x >= 0 !== samples[i - 1]! >= 0) crossings++;
    }
    const bins = this.fft.bins;
    const spectrum = new Float32Array(withSpectrum ? bins : 0);
    const frames = Math.max(1, 1 + Math.floor((samples.length - this.frameSamples) / this.hopSamples));
    let hasPrevious = before !== null && before.length === bins;
    if (hasPrevious) this.previous.set(before!);
    let fluxSum = 0;
    let fluxFrames = 0;
    for (let f = 0; f < frames; f++) {
      this.fft.compute(samples, f * this.hopSamples, this.current);
      let rise = 0;
      for (let k = 0; k < bins; k++) {
        const m = this.current[k]!;
        if (withSpectrum) spectrum[k] = spectrum[k]! + Math.log1p(100 * m);
        if (hasPrevious) {
          const d = m - this.previous[k]!;
          if (d > 0) rise += d;
        }
      }
      if (hasPrevious) {
        fluxSum += rise / bins;
        fluxFrames++;
      }
      const swap = this.previous;
      this.previous = this.current;
      this.current = swap;
      hasPrevious = true;
    }
    for (let k = 0; k < spectrum.length; k++) spectrum[k] = spectrum[k]! / frames;
    return {
      rms: Math.sqrt(energy / samples.length),
      zcr: samples.length > 1 ? crossings / (samples.length - 1) : 0,
      flux: fluxFrames > 0 ? fluxSum / fluxFrames : null,
      spectrum,
      lastMagnitudes: Float32Array.from(this.previous),
    };
  }
}
