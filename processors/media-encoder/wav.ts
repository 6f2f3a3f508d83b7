import { reject } from "./media-rejection.js";

/** A decoded clip: mono samples in [-1, 1] at `sampleRate`. */
export interface AudioClip {
  sampleRate: number;
  /** Channels in the file (mixed down to one in `samples`). */
  channels: number;
  samples: Float32Array;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/**
 * Parses a RIFF/WAVE file: PCM integer samples of 8 (unsigned), 16, 24 or 32 bits, or IEEE float of
 * 32 or 64 bits, any number of channels, averaged into one. WAVE_FORMAT_EXTENSIBLE is read through its
 * sub-format. Throws MediaRejection: corrupt_media (not RIFF/WAVE, chunks cut short, no samples, a
 * non-finite float sample) or unsupported_content_type (compressed formats such as ADPCM or µ-law).
 */
export function decodeWav(bytes: Buffer, maxSeconds: number): AudioClip {
  if (
    bytes.length < 12 ||
    bytes.toString("latin1", 0, 4) !== "RIFF" ||
    bytes.toString("latin1", 8, 12) !== "WAVE"
  ) {
    throw reject("corrupt_media", "not a WAV file (no RIFF/WAVE header)");
  }
  let fmt:
    | { format: number; channels: number; sampleRate: number; bits: number; blockAlign: number }
    | undefined;
  let data: Buffer | undefined;
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = bytes.toString("latin1", pos, pos + 4);
    const size = bytes.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (body + size > bytes.length) {
      throw reject(
        "corrupt_media",
        `WAV chunk "${id}" at byte ${pos} claims ${size} bytes, only ${bytes.length - body} remain (cut short?)`,
      );
    }
    if (id === "fmt ") {
      if (size < 16) throw reject("corrupt_media", `WAV fmt chunk is ${size} bytes, at least 16 expected`);
      let format = bytes.readUInt16LE(body);
      if (format === WAVE_FORMAT_EXTENSIBLE && size >= 40) format = bytes.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: bytes.readUInt16LE(body + 2),
        sampleRate: bytes.readUInt32LE(body + 4),
        blockAlign: bytes.readUInt16LE(body + 12),
        bits: bytes.readUInt16LE(body + 14),
      };
    } else if (id === "data") {
      data = bytes.subarray(body, body + size);
    }
    pos = body + size + (size % 2);
  }
  if (!fmt) throw reject("corrupt_media", "WAV has no fmt chunk");
  if (!data) throw reject("corrupt_media", "WAV has no data chunk");
  const { format, channels, sampleRate, bits } = fmt;
  const isInt = format === WAVE_FORMAT_PCM && [8, 16, 24, 32].includes(bits);
  const isFloat = format === WAVE_FORMAT_IEEE_FLOAT && (bits === 32 || bits === 64);
  if (!isInt && !isFloat) {
    throw reject(
      "unsupported_content_type",
      `WAV format ${format} with ${bits}-bit samples; supported: PCM 8/16/24/32-bit integer, IEEE float 32/64-bit`,
    );
  }
  if (channels === 0 || sampleRate === 0) {
    throw reject("corrupt_media", `WAV fmt gives ${channels} channels at ${sampleRate} Hz`);
  }
  const width = bits / 8;
  const frame = width * channels;
  if (fmt.blockAlign !== frame) {
    throw reject(
      "corrupt_media",
      `WAV block align ${fmt.blockAlign} does not match ${channels} × ${bits}-bit samples`,
    );
  }
  const frames = Math.floor(data.length / frame);
  if (frames === 0) throw reject("corrupt_media", "WAV data chunk holds no complete sample frame");
  if (frames / sampleRate > maxSeconds) {
    throw reject(
      "too_large",
      `WAV clip is ${(frames / sampleRate).toFixed(1)} s, over maxSeconds ${maxSeconds}`,
    );
  }
  const read = sampleReader(data, bits, isFloat);
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read(i * frame + c * width);
    const v = sum / channels;
    if (!Number.isFinite(v)) throw reject("corrupt_media", `WAV sample ${i} is not a finite number`);
    samples[i] = v;
  }
  return { sampleRate, channels, samples };
}

function sampleReader(data: Buffer, bits: number, isFloat: boolean): (offset: number) => number {
  if (isFloat) return bits === 32 ? (o) => data.readFloatLE(o) : (o) => data.readDoubleLE(o);
  switch (bits) {
    case 8:
      return (o) => (data[o]! - 128) / 128;
    case 16:
      return (o) => data.readInt16LE(o) / 32_768;
    case 24:
      return (o) => data.readIntLE(o, 3) / 8_388_608;
    default:
      return (o) => data.readInt32LE(o) / 2_147_483_648;
  }
}

/** The clip at `rate` Hz by linear interpolation (no filtering: downsampling may alias). */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const n = Math.max(1, Math.floor((samples.length * to) / from));
  const out = new Float32Array(n);
  const step = from / to;
  for (let i = 0; i < n; i++) {
    const x = i * step;
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, samples.length - 1);
    const a = x - i0;
    out[i] = samples[i0]! * (1 - a) + samples[i1]! * a;
  }
  return out;
}
