import { describe, expect, it } from "vitest";
import {
  AudioAnalyzer,
  decodeImage,
  decodeWav,
  imageTensor,
  MagnitudeSpectrum,
  MediaRejection,
  mediaEncoderOptions,
  resample,
} from "../../processors/media-encoder/index.js";
import {
  encodeJpeg,
  encodePng,
  encodeWav,
  sceneRgba,
  toneClip,
} from "../../scripts/media/synthetic-media.js";

const rejection = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof MediaRejection) return { reason: err.reason, message: err.message };
    throw err;
  }
  throw new Error("expected a MediaRejection");
};

/** A 2×2 RGBA image: red, green / blue, white. */
const QUAD = Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]);
const tensorOpts = (over: Record<string, unknown>) => ({ ...mediaEncoderOptions.parse({}).image, ...over });

describe("image decoding", () => {
  it("decodes a PNG to its exact RGBA pixels", () => {
    const rgba = sceneRgba({ width: 20, height: 10, noise: 3, seed: 7 });
    const img = decodeImage(encodePng(20, 10, rgba), "png", 1e6);
    expect([img.width, img.height]).toEqual([20, 10]);
    expect(Buffer.from(img.data).equals(Buffer.from(rgba))).toBe(true);
  });

  it("decodes a JPEG close to its source pixels (lossy)", () => {
    const rgba = sceneRgba({ width: 32, height: 24 });
    const img = decodeImage(encodeJpeg(32, 24, rgba, 95), "jpeg", 1e6);
    expect([img.width, img.height]).toEqual([32, 24]);
    let err = 0;
    for (let i = 0; i < rgba.length; i++) if (i % 4 !== 3) err += Math.abs(img.data[i]! - rgba[i]!);
    expect(err / ((rgba.length * 3) / 4)).toBeLessThan(6);
  });

  it("refuses corrupt, mislabelled and oversized images with a reason", () => {
    const png = encodePng(16, 16, sceneRgba({ width: 16, height: 16 }));
    const jpg = encodeJpeg(16, 16, sceneRgba({ width: 16, height: 16 }));
    expect(rejection(() => decodeImage(png.subarray(0, png.length - 40), "png", 1e6)).reason).toBe(
      "corrupt_media",
    );
    const flipped = Buffer.from(png);
    flipped[flipped.length - 30] = flipped[flipped.length - 30]! ^ 0xff;
    expect(rejection(() => decodeImage(flipped, "png", 1e6))).toMatchObject({ reason: "corrupt_media" });
    expect(rejection(() => decodeImage(jpg, "png", 1e6)).message).toMatch(/not a PNG/);
    expect(rejection(() => decodeImage(png, "jpeg", 1e6)).message).toMatch(/not a JPEG/);
    expect(rejection(() => decodeImage(jpg.subarray(0, jpg.length / 2), "jpeg", 1e6)).reason).toBe(
      "corrupt_media",
    );
    expect(rejection(() => decodeImage(png, "png", 255))).toEqual({
      reason: "too_large",
      message: "too_large: png image is 16×16 = 256 pixels, over maxPixels 255",
    });
    expect(rejection(() => decodeImage(jpg, "jpeg", 100)).reason).toBe("too_large");
  });
});

describe("image tensors", () => {
  const img = { width: 2, height: 2, data: QUAD };

  it("lays out NCHW and NHWC with per-channel mean and std", () => {
    const nchw = imageTensor(img, tensorOpts({ width: 2, height: 2, mean: [0.5, 0, 0], std: [0.5, 1, 2] }));
    // R plane: 255, 0, 0, 255 → (1 - 0.5) / 0.5 = 1, (0 - 0.5) / 0.5 = -1
    expect(Array.from(nchw.subarray(0, 4))).toEqual([1, -1, -1, 1]);
    expect(Array.from(nchw.subarray(4, 8))).toEqual([0, 1, 0, 1]);
    expect(Array.from(nchw.subarray(8, 12))).toEqual([0, 0, 0.5, 0.5]);
    const nhwc = imageTensor(img, tensorOpts({ width: 2, height: 2, layout: "NHWC" }));
    expect(Array.from(nhwc.subarray(0, 6))).toEqual([1, 0, 0, 0, 1, 0]);
  });

  it("resizes by nearest, bilinear (half-pixel centres) and area", () => {
    const row = (reds: number[]) => ({
      width: reds.length,
      height: 1,
      data: Uint8Array.from(reds.flatMap((r) => [r, 0, 0, 255])),
    });
    const red = (image: ReturnType<typeof row>, width: number, resize: string) =>
      Array.from(imageTensor(image, tensorOpts({ width, height: 1, resize })).subarray(0, width)).map(
        (v) => Math.round(v * 255 * 100) / 100,
      );
    // Upscaling [0, 255] to 4: centres at source x = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
    expect(red(row([0, 255]), 4, "bilinear")).toEqual([0, 63.75, 191.25, 255]);
    expect(red(row([0, 255]), 4, "nearest")).toEqual([0, 0, 255, 255]);
    // Area: each output pixel averages the source span it covers, partial pixels by overlap.
    expect(red(row([0, 100, 200, 255]), 2, "area")).toEqual([50, 227.5]);
    expect(red(row([0, 90, 180, 240]), 3, "area")).toEqual([22.5, 135, 225]);
    expect(red(row([0, 100, 200, 255]), 2, "nearest")).toEqual([100, 255]);
  });

  it("rejects an image of another size when resize is none", () => {
    expect(rejection(() => imageTensor(img, tensorOpts({ width: 4, height: 4, resize: "none" })))).toEqual({
      reason: "wrong_shape",
      message: "wrong_shape: image is 2×2, the tensor is 4×4 and resize is none",
    });
  });
});

describe("WAV decoding", () => {
  const tone = toneClip({
    sampleRate: 8000,
    samples: 800,
    offset: 0,
    toneHz: 500,
    toneAmplitude: 0.5,
    noise: 0,
    seed: 1,
  });

  it.each([
    ["pcm8", 1 / 128],
    ["pcm16", 1 / 32768],
    ["float32", 1e-7],
  ] as const)("reads %s, mono and stereo mixed down", (encoding, tolerance) => {
    const mono = decodeWav(encodeWav(tone, 8000, encoding), 60);
    expect(mono).toMatchObject({ sampleRate: 8000, channels: 1 });
    expect(mono.samples.length).toBe(800);
    for (let i = 0; i < 800; i += 37)
      expect(Math.abs(mono.samples[i]! - tone[i]!)).toBeLessThanOrEqual(tolerance);
    // The second channel is the first at half amplitude: the mixdown is 0.75 of the tone.
    const stereo = decodeWav(encodeWav(tone, 8000, encoding, 2), 60);
    expect(stereo.channels).toBe(2);
    for (let i = 0; i < 800; i += 37) {
      expect(Math.abs(stereo.samples[i]! - 0.75 * tone[i]!)).toBeLessThanOrEqual(tolerance);
    }
  });

  it("refuses corrupt, cut, compressed and too long audio with a reason", () => {
    const wav = encodeWav(tone, 8000);
    expect(rejection(() => decodeWav(Buffer.from("not a wav file at all"), 60)).reason).toBe("corrupt_media");
    expect(rejection(() => decodeWav(wav.subarray(0, 500), 60)).message).toMatch(
      /chunk "data" at byte 36 claims 1600 bytes, only 456 remain/,
    );
    const adpcm = Buffer.from(wav);
    adpcm.writeUInt16LE(2, 20);
    expect(rejection(() => decodeWav(adpcm, 60)).reason).toBe("unsupported_content_type");
    expect(rejection(() => decodeWav(wav, 0.05))).toEqual({
      reason: "too_large",
      message: "too_large: WAV clip is 0.1 s, over maxSeconds 0.05",
    });
    const nan = encodeWav(Float32Array.of(0, Number.NaN, 0), 8000, "float32");
    expect(rejection(() => decodeWav(nan, 60)).message).toMatch(/sample 1 is not a finite number/);
  });

  it("resamples by linear interpolation", () => {
    expect(Array.from(resample(Float32Array.of(0, 1, 2, 3), 4, 8))).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3, 3]);
    expect(Array.from(resample(Float32Array.of(0, 1, 2, 3), 4, 2))).toEqual([0, 2]);
  });
});

describe("audio features", () => {
  it("puts a sine's energy in its frequency bin", () => {
    const fft = new MagnitudeSpectrum(256);
    const sine = Float32Array.from({ length: 256 }, (_, i) => Math.sin((2 * Math.PI * 32 * i) / 256));
    const out = new Float32Array(128);
    fft.compute(sine, 0, out);
    const peak = out.indexOf(Math.max(...out));
    expect(peak).toBe(32);
    expect(out[32]).toBeCloseTo(1, 2);
    expect(out[10]!).toBeLessThan(1e-6);
  });

  it("measures RMS, zero crossings and spectral flux of known signals", () => {
    const analyzer = new AudioAnalyzer(256, 128);
    const n = 4096;
    const sine = Float32Array.from(
      { length: n },
      (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * (i + 0.5)) / 16000),
    );
    const a = analyzer.analyze(sine, null);
    expect(a.rms).toBeCloseTo(0.5 / Math.SQRT2, 3);
    // 1 kHz at 16 kHz: two crossings per 16 samples.
    expect(a.zcr).toBeCloseTo(2 / 16, 2);
    // A steady tone barely changes from frame to frame ...
    expect(a.flux!).toBeLessThan(1e-3);
    // ... a new tone after it does, in the first frame of the next clip.
    const other = Float32Array.from(
      { length: 256 },
      (_, i) => 0.5 * Math.sin((2 * Math.PI * 3000 * i) / 16000),
    );
    const b = analyzer.analyze(other, a.lastMagnitudes);
    expect(b.flux!).toBeGreaterThan(100 * a.flux!);
    expect(analyzer.analyze(other, null).flux).toBeNull();
  });
});
