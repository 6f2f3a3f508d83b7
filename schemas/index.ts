/**
 * The records of spikemesh: Avro schemas (`*.avsc`), their TypeScript types and typed handles.
 * Imports nothing else of ours.
 */
export type {
  AnomalyScore,
  ControlAction,
  DispatchEvent,
  DispatchKind,
  Feedback,
  LogEvent,
  LogLevel,
  MediaEvent,
  MediaKind,
  Outcome,
  ReasoningRequest,
  ReasoningResult,
  RecordValues,
  RouteWeight,
  SpikeRecord,
  SpikeType,
  SwarmMessage,
  SwarmMessageKind,
  SwarmStep,
  SwarmThought,
  TelemetryEvent,
  Verdict,
  WorkerHeartbeat,
  WorkerStatus,
} from "./generated.js";
export { avroSchemas } from "./generated.js";
export type { AvroFieldSchema, AvroRecordSchema, RecordName, RecordType } from "./record-types.js";
export { recordTypes } from "./record-types.js";
