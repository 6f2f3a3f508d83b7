import type { MediaEvent, MediaKind } from "../../schemas/index.js";
import { AudioAnalyzer } from "./audio-features.js";
import { decodeImage, type ImageFormat } from "./image-decode.js";
import { imageTensor } from "./image-tensor.js";
import { reject } from "./media-rejection.js";
import type { OnnxEncoder } from "./onnx-encoder.js";
import type { MediaEncoderOptions } from "./options.js";
import { PrototypeMemory } from "./prototypes.js";
import { decodeWav, resample } from "./wav.js";

export type MediaFormat = ImageFormat | "wav";

/** One derived number, published as a TelemetryEvent of `metric` for the event's source. */
export interface MediaFeature {
  metric: string;
  value: number;
  tags: Record<string, string>;
}

const FORMATS: Record<string, MediaFormat> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/pjpeg": "jpeg",
  "audio/wav": "wav",
  "audio/x-wav": "wav",
  "audio/wave": "wav",
  "audio/vnd.wave": "wav",
};

/** Metric prefix per kind: image.*, video.*, audio.* */
const FAMILY: Record<MediaKind, string> = { IMAGE: "image", VIDEO_FRAME: "video", AUDIO: "audio" };

/**
 * The format a record's contentType names (parameters after ";" ignored, case-insensitive), checked
 * against its kind. Throws MediaRejection: unsupported_content_type, kind_mismatch.
 */
export function mediaFormat(contentType: string, kind: MediaKind): MediaFormat {
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  const format = FORMATS[type];
  if (format === undefined) {
    throw reject(
      "unsupported_content_type",
      `contentType "${contentType}" is not supported (image/png, image/jpeg, audio/wav)`,
    );
  }
  if ((kind === "AUDIO") !== (format === "wav")) {
    throw reject("kind_mismatch", `contentType "${contentType}" does not match kind ${kind}`);
  }
  return format;
}

export interface MediaEncoders {
  image?: OnnxEncoder | undefined;
  audio?: OnnxEncoder | undefined;
}

/**
 * Media bytes → features, per source: images and video frames are decoded, scaled and normalised
 * into a tensor, embedded (the ONNX image model, or the tensor itself) and scored for novelty
 * against the source's prototypes (`image.novelty` / `video.novelty`). WAV clips are decoded to
 * mono, resampled, framed for RMS energy, zero-crossing rate and spectral flux (`audio.rms`,
 * `audio.zcr`, `audio.flux`), embedded (the ONNX audio model over whole windows, or the mean
 * log spectrum) and scored for novelty (`audio.novelty`). A source's first embedding of a kind
 * has no novelty yet. State changes only when the whole record succeeds.
 */
export class MediaFeaturizer {
  readonly memory: PrototypeMemory;
  private readonly analyzer: AudioAnalyzer;

  constructor(
    private readonly opts: MediaEncoderOptions,
    private readonly encoders: MediaEncoders = {},
  ) {
    this.memory = new PrototypeMemory(opts.novelty);
    this.analyzer = new AudioAnalyzer(opts.audio.frameSamples, opts.audio.hopSamples);
  }

  /** The state key of a source's media of `kind`. */
  static keyOf(source: string, kind: MediaKind): string {
    return `${source}/${FAMILY[kind]}`;
  }

  async features(event: MediaEvent, format: MediaFormat, bytes: Buffer): Promise<MediaFeature[]> {
    const key = MediaFeaturizer.keyOf(event.source, event.kind);
    const family = FAMILY[event.kind];
    const tags = { kind: event.kind };
    if (format !== "wav") {
      const image = decodeImage(bytes, format, this.opts.image.maxPixels);
      const tensor = imageTensor(image, this.opts.image);
      const encoder = this.encoders.image;
      const embedding = encoder ? await encoder.embed(tensor) : tensor;
      const novelty = this.novelty(key, embedding);
      if (novelty === null) return [];
      return [
        {
          metric: `${family}.novelty`,
          value: novelty,
          tags: { ...tags, encoder: encoder?.label ?? "pixels" },
        },
      ];
    }
    const clip = decodeWav(bytes, this.opts.audio.maxSeconds);
    const samples = resample(clip.samples, clip.sampleRate, this.opts.audio.sampleRate);
    const encoder = this.encoders.audio;
    const analysis = this.analyzer.analyze(samples, this.memory.lastMagnitudes(key), encoder === undefined);
    const embedding = encoder ? await this.embedWindows(encoder, samples) : analysis.spectrum;
    const novelty = this.novelty(key, embedding);
    this.memory.setLastMagnitudes(key, analysis.lastMagnitudes);
    const out: MediaFeature[] = [
      { metric: "audio.rms", value: analysis.rms, tags },
      { metric: "audio.zcr", value: analysis.zcr, tags },
    ];
    if (analysis.flux !== null) out.push({ metric: "audio.flux", value: analysis.flux, tags });
    if (novelty !== null) {
      out.push({
        metric: "audio.novelty",
        value: novelty,
        tags: { ...tags, encoder: encoder?.label ?? "spectrum" },
      });
    }
    return out;
  }

  /** Mean embedding over the clip's whole model windows; a clip shorter than one window is wrong_shape. */
  private async embedWindows(encoder: OnnxEncoder, samples: Float32Array): Promise<Float32Array> {
    const size = encoder.inputSize;
    const windows = Math.floor(samples.length / size);
    if (windows === 0) {
      throw reject(
        "wrong_shape",
        `clip has ${samples.length} samples at ${this.opts.audio.sampleRate} Hz, the audio model takes ${size} per window`,
      );
    }
    let sum: Float32Array | undefined;
    for (let w = 0; w < windows; w++) {
      const out = await encoder.embed(samples.slice(w * size, (w + 1) * size));
      if (!sum) sum = new Float32Array(out.length);
      else if (out.length !== sum.length) {
        throw reject(
          "wrong_shape",
          `${encoder.label} gave ${out.length} values for one window, ${sum.length} for another`,
        );
      }
      for (let i = 0; i < out.length; i++) sum[i] = sum[i]! + out[i]! / windows;
    }
    return sum!;
  }

  private novelty(key: string, embedding: ArrayLike<number>): number | null {
    const result = this.memory.observe(key, embedding);
    if (result.ok) return result.novelty;
    throw reject(
      result.problem === "dims" ? "wrong_shape" : "inference_failed",
      `embedding: ${result.detail}`,
    );
  }
}
