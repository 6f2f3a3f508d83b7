/** Record and replay: self-contained recordings of topics, replayed into any transport. */

export { RecordedValueDecoder } from "./recorded-values.js";
export {
  type RecordBound,
  type RecordTopicsOptions,
  recordTopics,
  registrySchemaLookup,
} from "./recorder.js";
export {
  RECORDING_MAGIC,
  type RecordedRecord,
  type RecordedSchema,
} from "./recording-format.js";
export {
  type ReadOptions,
  RecordingCorruptError,
  RecordingReader,
  scanRecording,
  verifyRecording,
} from "./recording-reader.js";
export { RecordingWriter, type RecordingWriterOptions } from "./recording-writer.js";
export { type ReplayOptions, type ReplayResult, replayRecording } from "./replayer.js";
export { type OutputRecord, type RunRecordingOptions, replayClock, runRecording } from "./testing.js";
