import { type MediaEvent, recordTypes, type TelemetryEvent } from "../../schemas/index.js";
import {
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type ProcessorSpec,
  type Rec,
  SpikemeshError,
} from "../../streams/index.js";
import { mediaBytes } from "./media-bytes.js";
import { MediaFeaturizer, mediaFormat } from "./media-features.js";
import { initMediaSeries, type MediaMetrics, mediaMetrics } from "./media-metrics.js";
import { MediaRejection, reject } from "./media-rejection.js";
import { OnnxEncoder } from "./onnx-encoder.js";
import { imageInputShape, type MediaEncoderOptions, mediaEncoderOptions } from "./options.js";

export type MediaEncoderOutputs = { features: TelemetryEvent };

/** Store holding one JSON snapshot of prototypes per `${source}/${image|video|audio}` key. */
export const MEDIA_STATE_STORE = "media-state";

/**
 * The media encoder: reads MediaEvents (IMAGE, VIDEO_FRAME, AUDIO; inline bytes or a file URI) and
 * writes derived numbers as TelemetryEvents on `features`, keyed by source, for an SNN filter to
 * watch like any other telemetry: `image.novelty`, `video.novelty`, `audio.novelty` (cosine
 * distance of the record's embedding to the source's running prototypes), and `audio.rms`,
 * `audio.zcr`, `audio.flux`. Embeddings come from ONNX models named in the options
 * (`image.model`, `audio.model`), or without one from the preprocessed pixels / log spectrum.
 *
 * Bad input never stops it: unsupported content types, a kind that does not match the content
 * type, missing or oversized payloads, missing files, corrupt images or audio, tensors of the wrong
 * shape and failed inference are dead-lettered with the reason first in the message (see
 * media-rejection.ts). A model that cannot be loaded is a ConfigError naming the file (and the
 * options check the file before anything connects).
 *
 * Prototypes are checkpointed to the "media-state" store every `checkpointEveryMs` of stream time
 * and on close, and restored in init().
 */
export const mediaEncoderSpec: ProcessorSpec<MediaEvent, MediaEncoderOutputs, MediaEncoderOptions> = {
  name: "media-encoder",
  input: recordTypes.MediaEvent,
  outputs: { features: recordTypes.TelemetryEvent },
  stores: [MEDIA_STATE_STORE],
  options: mediaEncoderOptions,
  create: (options) => new MediaEncoder(options),
};

type Ctx = ProcessorContext<MediaEncoderOutputs>;

class MediaEncoder implements Processor<MediaEvent, MediaEncoderOutputs> {
  private featurizer: MediaFeaturizer | undefined;
  private readonly encoders: OnnxEncoder[] = [];
  private readonly dirty = new Set<string>();
  private store: KeyValueStore<unknown> | undefined;
  private metrics: MediaMetrics | undefined;
  private cancelCheckpoints: (() => void) | undefined;

  constructor(private readonly options: MediaEncoderOptions) {}

  async init(ctx: Ctx): Promise<void> {
    this.metrics = mediaMetrics(ctx.metrics);
    initMediaSeries(this.metrics, ctx.processorName);
    const { image, audio } = this.options;
    const imageEncoder = image.model
      ? await OnnxEncoder.open(image.model, image.model.inputShape ?? imageInputShape(image), "image.model")
      : undefined;
    if (imageEncoder) this.encoders.push(imageEncoder);
    const audioEncoder = audio.model
      ? await OnnxEncoder.open(audio.model, audio.model.inputShape ?? [1, audio.windowSamples], "audio.model")
      : undefined;
    if (audioEncoder) this.encoders.push(audioEncoder);
    const featurizer = new MediaFeaturizer(this.options, { image: imageEncoder, audio: audioEncoder });
    this.featurizer = featurizer;
    const store = ctx.store<unknown>(MEDIA_STATE_STORE);
    this.store = store;
    const unreadable: string[] = [];
    for (const [key, raw] of store.entries()) if (!featurizer.memory.restore(key, raw)) unreadable.push(key);
    for (const key of unreadable) {
      ctx.log.warn({ key }, "media-encoder: dropping unreadable prototypes for this key; it starts afresh");
      store.delete(key);
    }
    this.cancelCheckpoints = ctx.schedule(this.options.checkpointEveryMs, "stream", () => this.checkpoint());
  }

  async process(rec: Rec<MediaEvent>, ctx: Ctx): Promise<void> {
    const featurizer = this.featurizer;
    const metrics = this.metrics;
    if (!featurizer || !metrics)
      throw new SpikemeshError("INVARIANT", "media-encoder: process() before init()");
    const event = rec.value;
    const processor = ctx.processorName;
    metrics.events.inc({ processor, kind: event.kind });
    const started = performance.now();
    let features: Awaited<ReturnType<MediaFeaturizer["features"]>>;
    try {
      if (event.source === "") throw reject("empty_source", "source is empty");
      const format = mediaFormat(event.contentType, event.kind);
      const bytes = await mediaBytes(event, this.options);
      features = await featurizer.features(event, format, bytes);
    } catch (err) {
      if (!(err instanceof MediaRejection)) throw err;
      metrics.rejected.inc({ processor, reason: err.reason });
      throw err.toError({ processor, topic: ctx.topic, partition: ctx.partition });
    }
    metrics.encodeSeconds.observe({ processor, kind: event.kind }, (performance.now() - started) / 1000);
    this.dirty.add(MediaFeaturizer.keyOf(event.source, event.kind));
    for (const f of features) {
      ctx.forward("features", {
        key: event.source,
        value: { ts: event.ts, source: event.source, metric: f.metric, value: f.value, tags: f.tags },
        timestampMs: event.ts,
        headers: {},
      });
    }
  }

  async close(): Promise<void> {
    this.cancelCheckpoints?.();
    this.checkpoint();
    for (const encoder of this.encoders.splice(0)) await encoder.release();
  }

  private checkpoint(): void {
    if (!this.store || !this.featurizer) return;
    for (const key of this.dirty) {
      const state = this.featurizer.memory.snapshot(key);
      if (state) this.store.put(key, state);
    }
    this.dirty.clear();
  }
}
