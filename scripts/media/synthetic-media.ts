/**
 * Seeded synthetic media for tests and benchmarks: a camera scene (background, fixed shapes, an
 * optional planted object, optional sensor noise) encoded as PNG or JPEG, and audio clips (a steady
 * tone over noise, an optional tone burst) encoded as WAV.
 */
import jpeg from "jpeg-js";
import { PNG } from "pngjs";

/** mulberry32 */
export function seededNoise(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SceneOptions {
  width: number;
  height: number;
  /** Add a red square (the "new object") at this position, side a quarter of the height. */
  object?: { x: number; y: number } | undefined;
  /** Uniform sensor noise of ±`noise` levels per channel, seeded by `seed`. Default 0. */
  noise?: number;
  seed?: number;
}

/** RGBA pixels of the scene: a vertical gradient, a blue rectangle, a green disc, maybe a red square. */
export function sceneRgba(opts: SceneOptions): Uint8Array {
  const { width: w, height: h } = opts;
  const out = new Uint8Array(w * h * 4);
  const random = seededNoise(opts.seed ?? 1);
  const side = Math.max(2, Math.round(h / 4));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let r = 60 + (120 * y) / h;
      let g = 70 + (100 * y) / h;
      let b = 90 + (60 * y) / h;
      if (x > w * 0.1 && x < w * 0.35 && y > h * 0.55 && y < h * 0.9) [r, g, b] = [30, 40, 200];
      const dx = x - w * 0.7;
      const dy = y - h * 0.3;
      if (dx * dx + dy * dy < (h * 0.15) ** 2) [r, g, b] = [40, 180, 60];
      const o = opts.object;
      if (o && x >= o.x && x < o.x + side && y >= o.y && y < o.y + side) [r, g, b] = [230, 30, 30];
      const n = opts.noise ?? 0;
      const p = (y * w + x) * 4;
      out[p] = clamp(r + (random() * 2 - 1) * n);
      out[p + 1] = clamp(g + (random() * 2 - 1) * n);
      out[p + 2] = clamp(b + (random() * 2 - 1) * n);
      out[p + 3] = 255;
    }
  }
  return out;
}

const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba);
  return PNG.sync.write(png);
}

export function encodeJpeg(width: number, height: number, rgba: Uint8Array, quality = 90): Buffer {
  return jpeg.encode({ width, height, data: Buffer.from(rgba) }, quality).data;
}

export interface ToneClipOptions {
  sampleRate: number;
  samples: number;
  /** Sample index of the clip's first sample in the whole recording (phase continuity). */
  offset: number;
  /** Steady tone: frequency (Hz) and amplitude. */
  toneHz: number;
  toneAmplitude: number;
  /** White noise amplitude. */
  noise: number;
  /** An extra tone in this clip (the burst). */
  burst?: { hz: number; amplitude: number } | undefined;
  seed: number;
}

/** One clip of the steady sound, with a burst when asked. */
export function toneClip(opts: ToneClipOptions): Float32Array {
  const random = seededNoise(opts.seed);
  const out = new Float32Array(opts.samples);
  for (let i = 0; i < opts.samples; i++) {
    const t = (opts.offset + i) / opts.sampleRate;
    let v = opts.toneAmplitude * Math.sin(2 * Math.PI * opts.toneHz * t) + (random() * 2 - 1) * opts.noise;
    if (opts.burst) v += opts.burst.amplitude * Math.sin(2 * Math.PI * opts.burst.hz * t);
    out[i] = Math.max(-1, Math.min(1, v));
  }
  return out;
}

export type WavEncoding = "pcm8" | "pcm16" | "float32";

/**
 * A RIFF/WAVE file of `channels` channels: channel c holds `samples` scaled by 1 − 0.5·c (so a
 * mixdown is a known average), as 8-bit unsigned, 16-bit signed PCM or 32-bit float.
 */
export function encodeWav(
  samples: Float32Array,
  sampleRate: number,
  encoding: WavEncoding = "pcm16",
  channels = 1,
): Buffer {
  const width = encoding === "pcm8" ? 1 : encoding === "pcm16" ? 2 : 4;
  const dataBytes = samples.length * channels * width;
  const b = Buffer.alloc(44 + dataBytes);
  b.write("RIFF", 0, "latin1");
  b.writeUInt32LE(36 + dataBytes, 4);
  b.write("WAVE", 8, "latin1");
  b.write("fmt ", 12, "latin1");
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(encoding === "float32" ? 3 : 1, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * channels * width, 28);
  b.writeUInt16LE(channels * width, 32);
  b.writeUInt16LE(width * 8, 34);
  b.write("data", 36, "latin1");
  b.writeUInt32LE(dataBytes, 40);
  let o = 44;
  for (let i = 0; i < samples.length; i++) {
    for (let c = 0; c < channels; c++) {
      const v = samples[i]! * (1 - 0.5 * c);
      if (encoding === "pcm8") b[o] = Math.max(0, Math.min(255, Math.round(v * 128 + 128)));
      else if (encoding === "pcm16")
        b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32768))), o);
      else b.writeFloatLE(v, o);
      o += width;
    }
  }
  return b;
}
