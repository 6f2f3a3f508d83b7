import { resolve } from "node:path";
import { z } from "zod";
import { fitsDims, formatDims, OnnxFileError, readOnnxModelInfo } from "./onnx-model-file.js";

/** An ONNX encoder: the file, which input and output to use, and the input tensor's shape. */
export const onnxModelOptions = z.strictObject({
  path: z.string().min(1).describe("ONNX model file (read at start; nothing is downloaded)."),
  input: z
    .string()
    .min(1)
    .optional()
    .describe("Name of the graph input the preprocessed tensor is fed to. Default: the graph's only input."),
  output: z
    .string()
    .min(1)
    .optional()
    .describe("Name of the graph output taken as the embedding. Default: the graph's first output."),
  inputShape: z
    .array(z.number().int().positive())
    .min(1)
    .max(8)
    .optional()
    .describe(
      "Shape of the input tensor. Default for images [1, 3, height, width] (NCHW) or [1, height, width, 3] (NHWC); for audio [1, windowSamples].",
    ),
  intraOpThreads: z
    .number()
    .int()
    .positive()
    .default(1)
    .describe("onnxruntime intra-op threads (1 gives stable latency on a small machine)."),
});
export type OnnxModelOptions = z.infer<typeof onnxModelOptions>;

const triple = (fallback: number, doc: string) =>
  z.tuple([z.number(), z.number(), z.number()]).default([fallback, fallback, fallback]).describe(doc);

export const imageOptions = z.strictObject({
  width: z.number().int().positive().max(4_096).default(32).describe("Width of the tensor, pixels."),
  height: z.number().int().positive().max(4_096).default(32).describe("Height of the tensor, pixels."),
  resize: z
    .enum(["bilinear", "nearest", "area", "none"])
    .default("area")
    .describe(
      "How an image is scaled to width × height: bilinear or nearest (half-pixel centres), area (box average, best for large reductions), or none (an image of another size is dead-lettered as wrong_shape).",
    ),
  mean: triple(0, "Per-channel (R, G, B) mean subtracted after scaling pixels to [0, 1]."),
  std: triple(1, "Per-channel standard deviation the centred values are divided by.").refine(
    (s) => s.every((v) => v > 0),
    "every std must be > 0",
  ),
  layout: z.enum(["NCHW", "NHWC"]).default("NCHW").describe("Tensor layout (batch of one)."),
  maxPixels: z
    .number()
    .int()
    .positive()
    .default(40_000_000)
    .describe("Images with more pixels are dead-lettered (too_large) before they are decoded."),
  model: onnxModelOptions
    .optional()
    .describe("Image encoder. Without one, the embedding is the preprocessed tensor itself (pixels)."),
});
export type ImageOptions = z.infer<typeof imageOptions>;

export const audioOptions = z.strictObject({
  sampleRate: z
    .number()
    .int()
    .min(1_000)
    .max(384_000)
    .default(16_000)
    .describe("Clips are resampled (linear interpolation) to this rate, Hz."),
  frameSamples: z
    .number()
    .int()
    .min(16)
    .max(65_536)
    .refine((n) => (n & (n - 1)) === 0, "must be a power of two")
    .default(512)
    .describe("Samples per analysis frame (FFT size) for RMS, zero-crossing rate and spectral flux."),
  hopSamples: z.number().int().positive().default(256).describe("Samples between the starts of frames."),
  windowSamples: z
    .number()
    .int()
    .positive()
    .default(16_000)
    .describe(
      "Samples per model input window (a clip is cut into whole windows; their embeddings are averaged). Only used with a model.",
    ),
  maxSeconds: z.number().positive().default(600).describe("Longer clips are dead-lettered (too_large)."),
  model: onnxModelOptions
    .optional()
    .describe("Audio encoder. Without one, the embedding is the clip's mean log-magnitude spectrum."),
});
export type AudioOptions = z.infer<typeof audioOptions>;

export const noveltyOptions = z.strictObject({
  prototypes: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe("Prototypes (running centroids of embeddings) kept per source and kind."),
  rate: z
    .number()
    .gt(0)
    .max(1)
    .default(0.05)
    .describe("How far the nearest prototype moves toward each new embedding (exponential update)."),
  spawnDistance: z
    .number()
    .gt(0)
    .max(2)
    .default(0.01)
    .describe(
      "An embedding at least this cosine distance from every prototype starts a new one while fewer than `prototypes` exist.",
    ),
});
export type NoveltyOptions = z.infer<typeof noveltyOptions>;

/**
 * Options of the media encoder, with their defaults. Sizes are bytes; durations ms of event time.
 * Model files are checked while the options are validated (before anything connects): a missing,
 * truncated or non-ONNX file, an unknown input or output name, or an input shape the model does not
 * accept is reported as a configuration problem naming the field and the file.
 */
export const mediaEncoderOptions = z
  .strictObject({
    maxInlineBytes: z
      .number()
      .int()
      .positive()
      .default(1_000_000)
      .describe("Inline `data` above this is dead-lettered (too_large); send larger media by file URI."),
    maxFileBytes: z
      .number()
      .int()
      .positive()
      .default(100_000_000)
      .describe("Files named by `uri` above this are dead-lettered (too_large) without being read."),
    fileRoots: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Directories `file:` URIs may point into; a URI outside them is dead-lettered (bad_uri). Empty: any local file the process can read.",
      ),
    image: imageOptions.prefault({}).describe("Images and video frames: decoding, tensor and encoder."),
    audio: audioOptions.prefault({}).describe("WAV audio: resampling, frames and encoder."),
    novelty: noveltyOptions.prefault({}).describe("Novelty of embeddings against running prototypes."),
    checkpointEveryMs: z
      .number()
      .positive()
      .default(60_000)
      .describe('How often, in stream time, changed prototypes are written to the "media-state" store.'),
  })
  .superRefine((opts, ctx) => {
    if (opts.audio.hopSamples > opts.audio.frameSamples) {
      ctx.addIssue({ code: "custom", path: ["audio", "hopSamples"], message: "must be ≤ frameSamples" });
    }
    const image = opts.image;
    if (image.model) {
      const shape = image.model.inputShape ?? imageInputShape(image);
      const elements = image.width * image.height * 3;
      checkModel(ctx, ["image", "model"], image.model, shape, elements, "3 × height × width");
    }
    const audio = opts.audio;
    if (audio.model) {
      const shape = audio.model.inputShape ?? [1, audio.windowSamples];
      checkModel(ctx, ["audio", "model"], audio.model, shape, audio.windowSamples, "windowSamples");
    }
  });

/** Defaults: maxInlineBytes 1000000, maxFileBytes 100000000, fileRoots [] (any), image 32×32 area NCHW mean 0 std 1 maxPixels 4e7 no model, audio 16000 Hz frames 512 hop 256 windowSamples 16000 maxSeconds 600 no model, novelty 4 prototypes rate 0.05 spawnDistance 0.01, checkpointEveryMs 60000. */
export type MediaEncoderOptions = z.infer<typeof mediaEncoderOptions>;

/** [1, 3, H, W] or [1, H, W, 3]. */
export function imageInputShape(image: ImageOptions): number[] {
  return image.layout === "NCHW" ? [1, 3, image.height, image.width] : [1, image.height, image.width, 3];
}

/** Adds a problem for each thing wrong with a configured model file, at `path` in the options. */
function checkModel(
  ctx: z.RefinementCtx,
  path: string[],
  model: OnnxModelOptions,
  shape: number[],
  elements: number,
  what: string,
): void {
  const file = resolve(model.path);
  const problem = (field: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [...path, field], message });
  if (shape.reduce((a, b) => a * b, 1) !== elements) {
    problem("inputShape", `[${shape.join(", ")}] does not hold ${elements} values (${what})`);
    return;
  }
  let info: ReturnType<typeof readOnnxModelInfo>;
  try {
    info = readOnnxModelInfo(file);
  } catch (err) {
    const reason =
      err instanceof OnnxFileError
        ? `${err.message}; is the file truncated or corrupt, or not an ONNX model?`
        : `cannot read it (${(err as Error).message})`;
    problem("path", `ONNX model ${file}: ${reason}`);
    return;
  }
  const names = (list: { name: string }[]) => list.map((t) => t.name).join(", ");
  const input = model.input
    ? info.inputs.find((i) => i.name === model.input)
    : info.inputs.length === 1
      ? info.inputs[0]
      : undefined;
  if (!input) {
    problem(
      "input",
      model.input
        ? `ONNX model ${file} has no input "${model.input}" (inputs: ${names(info.inputs)})`
        : `ONNX model ${file} has ${info.inputs.length} inputs (${names(info.inputs)}): name one`,
    );
  } else {
    if (input.elemType !== 1 && input.elemType !== 0) {
      problem("input", `ONNX model ${file}: input "${input.name}" is not float32 (type ${input.elemType})`);
    }
    if (!fitsDims(input.dims, shape)) {
      problem(
        "inputShape",
        `ONNX model ${file}: input "${input.name}" is ${formatDims(input.dims)}, the configured tensor is [${shape.join(", ")}]`,
      );
    }
  }
  if (model.output && !info.outputs.some((o) => o.name === model.output)) {
    problem("output", `ONNX model ${file} has no output "${model.output}" (outputs: ${names(info.outputs)})`);
  }
}
