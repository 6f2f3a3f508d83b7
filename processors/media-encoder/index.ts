export { AudioAnalyzer, type AudioFeatures } from "./audio-features.js";
export { MagnitudeSpectrum } from "./fft.js";
export { decodeImage, type ImageFormat, type RgbaImage } from "./image-decode.js";
export { imageTensor, type TensorOptions } from "./image-tensor.js";
export { type MediaBytesLimits, mediaBytes } from "./media-bytes.js";
export { MEDIA_STATE_STORE, type MediaEncoderOutputs, mediaEncoderSpec } from "./media-encoder.js";
export {
  type MediaEncoders,
  type MediaFeature,
  MediaFeaturizer,
  type MediaFormat,
  mediaFormat,
} from "./media-features.js";
export { initMediaSeries, type MediaMetrics, mediaMetrics } from "./media-metrics.js";
export { MediaRejection, REJECT_REASONS, type RejectReason } from "./media-rejection.js";
export { OnnxEncoder } from "./onnx-encoder.js";
export {
  fitsDims,
  formatDims,
  OnnxFileError,
  type OnnxModelInfo,
  type OnnxTensorInfo,
  readOnnxModelInfo,
} from "./onnx-model-file.js";
export {
  type AudioOptions,
  audioOptions,
  type ImageOptions,
  imageInputShape,
  imageOptions,
  type MediaEncoderOptions,
  mediaEncoderOptions,
  type NoveltyOptions,
  noveltyOptions,
  type OnnxModelOptions,
  onnxModelOptions,
} from "./options.js";
export { type NoveltyResult, PrototypeMemory, type PrototypeState } from "./prototypes.js";
export { type AudioClip, decodeWav, resample } from "./wav.js";
