import { avroSchemas, type RecordValues } from "./generated.js";

/** One field of an Avro record schema, as JSON. */
export interface AvroFieldSchema {
  readonly name: string;
  readonly type: unknown;
  readonly doc?: string;
  readonly default?: unknown;
}

/** An Avro record schema as JSON (the content of one `.avsc` file). */
export interface AvroRecordSchema {
  readonly type: "record";
  readonly name: string;
  readonly namespace?: string;
  readonly doc?: string;
  readonly fields: readonly AvroFieldSchema[];
}

/** Type-only key that ties a RecordType to its value type; never present at runtime. */
declare const valueType: unique symbol;

/**
 * A typed handle on one record: its fully qualified Avro name and schema JSON. `T` is the TypeScript
 * type of its values, so `ProcessorSpec` inputs and outputs infer their value types from the handle.
 */
export interface RecordType<T> {
  /** Fully qualified Avro name, e.g. `spikemesh.TelemetryEvent`. */
  readonly name: string;
  readonly schema: AvroRecordSchema;
  /** Phantom: carries `T` for type inference only. */
  readonly [valueType]?: T;
}

/** Name of a record that has an `.avsc` file, e.g. `"TelemetryEvent"`. */
export type RecordName = keyof RecordValues;

function recordType<N extends RecordName>(name: N): RecordType<RecordValues[N]> {
  const schema: AvroRecordSchema = avroSchemas[name];
  return { name: `${schema.namespace}.${schema.name}`, schema };
}

/** A RecordType for every record in `schemas/*.avsc`. */
export const recordTypes: { readonly [N in RecordName]: RecordType<RecordValues[N]> } = {
  AnomalyScore: recordType("AnomalyScore"),
  ControlAction: recordType("ControlAction"),
  DispatchEvent: recordType("DispatchEvent"),
  Feedback: recordType("Feedback"),
  LogEvent: recordType("LogEvent"),
  MediaEvent: recordType("MediaEvent"),
  ReasoningRequest: recordType("ReasoningRequest"),
  ReasoningResult: recordType("ReasoningResult"),
  RouteWeight: recordType("RouteWeight"),
  SpikeRecord: recordType("SpikeRecord"),
  SwarmMessage: recordType("SwarmMessage"),
  SwarmThought: recordType("SwarmThought"),
  TelemetryEvent: recordType("TelemetryEvent"),
  WorkerHeartbeat: recordType("WorkerHeartbeat"),
};
