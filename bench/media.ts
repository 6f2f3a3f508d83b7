/**
 * The media encoder path, side by side with decoding alone, on the CPU:
 *   - media png / jpeg: 320×240 camera frames (seeded scene with sensor noise, a new object in every
 *     fourth frame) through MediaFeaturizer.features: decode, area resize to 64×64, normalise, the
 *     tiny ONNX image extractor (conv → relu → max-pool → projection, onnxruntime-node, 1 thread),
 *     novelty against the source's prototypes. Baseline: decoding the same bytes (pngjs / jpeg-js).
 *   - media wav: 1 s clips of 16 kHz 16-bit mono WAV (a tone over noise, a burst in every fourth)
 *     through the same path for audio: decode, 512-sample frames every 256 (RMS, zero-crossing
 *     rate, spectral flux), the tiny ONNX audio extractor on the 16,000-sample window, novelty.
 *     Baseline: decoding the WAV. Records are clips, so records/s is audio-seconds/s.
 */
import { join } from "node:path";
import {
  decodeImage,
  decodeWav,
  type MediaEncoderOptions,
  MediaFeaturizer,
  type MediaFormat,
  mediaEncoderOptions,
  OnnxEncoder,
} from "../processors/media-encoder/index.js";
import type { MediaEvent } from "../schemas/index.js";
import { encodeJpeg, encodePng, encodeWav, sceneRgba, toneClip } from "../scripts/media/synthetic-media.js";
import {
  audioExtractorGraph,
  imageExtractorGraph,
  writeOnnxModel,
} from "../scripts/onnx/feature-extractors.js";
import type { Suite, TrialResult } from "./measure.js";
import { timed } from "./measure.js";

export interface MediaBenchOptions {
  tmpRoot: string;
  /** Images per trial (each image case). */
  images: number;
  /** One-second clips per trial. */
  clips: number;
}

export const MEDIA_CASES = {
  png: "media png 320×240 → onnx",
  jpeg: "media jpeg 320×240 → onnx",
  wav: "media wav 1 s → features + onnx",
} as const;

const WIDTH = 320;
const HEIGHT = 240;
const TENSOR = 64;
const RATE = 16_000;
/** Distinct inputs, cycled (JPEG encoding in pure JS is slow; decoding is what is measured). */
const DISTINCT = 8;

interface Inputs {
  png: Buffer[];
  jpeg: Buffer[];
  wav: Buffer[];
}

function inputs(): Inputs {
  const frames = Array.from({ length: DISTINCT }, (_, i) =>
    sceneRgba({
      width: WIDTH,
      height: HEIGHT,
      noise: 4,
      seed: i + 1,
      object: i % 4 === 3 ? { x: 40 + 20 * i, y: 30 } : undefined,
    }),
  );
  const clips = Array.from({ length: DISTINCT }, (_, i) =>
    encodeWav(
      toneClip({
        sampleRate: RATE,
        samples: RATE,
        offset: i * RATE,
        toneHz: 440,
        toneAmplitude: 0.2,
        noise: 0.05,
        seed: i + 1,
        burst: i % 4 === 3 ? { hz: 2000, amplitude: 0.5 } : undefined,
      }),
      RATE,
    ),
  );
  return {
    png: frames.map((f) => encodePng(WIDTH, HEIGHT, f)),
    jpeg: frames.map((f) => encodeJpeg(WIDTH, HEIGHT, f, 90)),
    wav: clips,
  };
}

const event = (kind: MediaEvent["kind"], contentType: string, data: Buffer, ts: number): MediaEvent => ({
  ts,
  source: "bench",
  kind,
  contentType,
  data,
  uri: null,
});

export async function mediaSuite(options: MediaBenchOptions): Promise<Suite> {
  const imagePath = join(options.tmpRoot, "bench-image.onnx");
  const audioPath = join(options.tmpRoot, "bench-audio.onnx");
  writeOnnxModel(imagePath, imageExtractorGraph({ height: TENSOR, width: TENSOR }));
  writeOnnxModel(audioPath, audioExtractorGraph({ samples: RATE }));
  const opts: MediaEncoderOptions = mediaEncoderOptions.parse({
    image: { width: TENSOR, height: TENSOR, model: { path: imagePath } },
    audio: { sampleRate: RATE, windowSamples: RATE, model: { path: audioPath } },
  });
  const image = await OnnxEncoder.open(opts.image.model!, [1, 3, TENSOR, TENSOR], "image.model");
  const audio = await OnnxEncoder.open(opts.audio.model!, [1, RATE], "audio.model");
  const data = inputs();
  const bytesOf = (list: Buffer[], n: number) => {
    let total = 0;
    for (let i = 0; i < n; i++) total += list[i % list.length]!.length;
    return total;
  };
  let ts = 0;
  const featurize = async (featurizer: MediaFeaturizer, format: MediaFormat, list: Buffer[], n: number) => {
    const kind = format === "wav" ? "AUDIO" : "IMAGE";
    const type = format === "wav" ? "audio/wav" : `image/${format}`;
    for (let i = 0; i < n; i++) {
      const bytes = list[i % list.length]!;
      const features = await featurizer.features(event(kind, type, bytes, ++ts), format, bytes);
      if (i > 0 && features.length === 0) throw new Error(`media bench: no features for ${format} ${i}`);
    }
  };
  const { images, clips } = options;
  return {
    cases: [MEDIA_CASES.png, MEDIA_CASES.jpeg, MEDIA_CASES.wav],
    spikemesh: {
      label: `MediaFeaturizer: decode, tensor ${TENSOR}×${TENSOR} / frames, tiny ONNX extractor, novelty`,
      trial: async (): Promise<TrialResult> => {
        const featurizer = new MediaFeaturizer(opts, { image, audio });
        return {
          [MEDIA_CASES.png]: {
            records: images,
            bytes: bytesOf(data.png, images),
            seconds: await timed(() => featurize(featurizer, "png", data.png, images)),
          },
          [MEDIA_CASES.jpeg]: {
            records: images,
            bytes: bytesOf(data.jpeg, images),
            seconds: await timed(() => featurize(featurizer, "jpeg", data.jpeg, images)),
          },
          [MEDIA_CASES.wav]: {
            records: clips,
            bytes: bytesOf(data.wav, clips),
            seconds: await timed(() => featurize(featurizer, "wav", data.wav, clips)),
          },
        };
      },
    },
    baseline: {
      label: "decoding alone (pngjs, jpeg-js, WAV parse)",
      trial: async (): Promise<TrialResult> => {
        const decodeAll = (format: "png" | "jpeg", list: Buffer[], n: number) => {
          for (let i = 0; i < n; i++) decodeImage(list[i % list.length]!, format, opts.image.maxPixels);
        };
        return {
          [MEDIA_CASES.png]: {
            records: images,
            bytes: bytesOf(data.png, images),
            seconds: await timed(() => decodeAll("png", data.png, images)),
          },
          [MEDIA_CASES.jpeg]: {
            records: images,
            bytes: bytesOf(data.jpeg, images),
            seconds: await timed(() => decodeAll("jpeg", data.jpeg, images)),
          },
          [MEDIA_CASES.wav]: {
            records: clips,
            bytes: bytesOf(data.wav, clips),
            seconds: await timed(() => {
              for (let i = 0; i < clips; i++)
                decodeWav(data.wav[i % data.wav.length]!, opts.audio.maxSeconds);
            }),
          },
        };
      },
    },
    async close() {
      await image.release();
      await audio.release();
    },
  };
}
