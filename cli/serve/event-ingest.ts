import avro from "avsc";
import { type RecordType, recordTypes } from "../../schemas/index.js";
import { invalidFields } from "../../streams/serde/serde-errors.js";
import type { RecordCodec } from "../../streams/topology/codec.js";
import type { OutgoingRecord, Producer } from "../../streams/transport/transport.js";
import { coerceRecord } from "../record-input.js";
import { HttpError } from "./http-io.js";

/** Event kinds `POST /events/<kind>` accepts: topic and record. */
export const EVENT_KINDS = {
  telemetry: { topic: "telemetry.raw", type: recordTypes.TelemetryEvent },
  logs: { topic: "logs.raw", type: recordTypes.LogEvent },
} as const satisfies Record<string, { topic: string; type: RecordType<unknown> }>;

export type EventKind = keyof typeof EVENT_KINDS;

/** Most events one request may carry. */
export const MAX_EVENTS_PER_REQUEST = 10_000;

export const isEventKind = (kind: string): kind is EventKind => kind in EVENT_KINDS;

/**
 * Validates a body of one event or an array of events against the kind's record (ISO dates and
 * numeric strings coerced as `spikemesh produce` does) and produces them all, keyed by source, or
 * none: the first bad event is a 400 naming its index and field.
 */
export async function ingestEvents(
  kind: EventKind,
  body: unknown,
  codec: RecordCodec,
  producer: Producer,
): Promise<{ topic: string; accepted: number }> {
  const { topic, type } = EVENT_KINDS[kind];
  const isList = Array.isArray(body);
  const events: unknown[] = isList ? body : [body];
  if (events.length === 0) throw new HttpError(400, "no events: send an object or a non-empty array");
  if (events.length > MAX_EVENTS_PER_REQUEST) {
    throw new HttpError(413, `${events.length} events in one request; at most ${MAX_EVENTS_PER_REQUEST}`);
  }
  const avroType = avro.Type.forSchema(type.schema as unknown as avro.Schema);
  const records: OutgoingRecord[] = [];
  for (const [i, event] of events.entries()) {
    const where = isList ? `events[${i}]` : "event";
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      throw new HttpError(400, `${where}: expected a JSON object`, where);
    }
    const coerced = coerceRecord(type, event as Record<string, unknown>);
    if (!coerced.ok) {
      const field = /^field "([^"]+)"/.exec(coerced.reason)?.[1];
      throw new HttpError(400, `${where}: ${coerced.reason}`, field ? `${where}.${field}` : where);
    }
    const bad = invalidFields(avroType, coerced.value)[0];
    if (bad) {
      throw new HttpError(400, `${where}.${bad.path}: ${bad.problem}`, `${where}.${bad.path}`);
    }
    const value = coerced.value as { source: string; ts: number };
    records.push({
      topic,
      key: Buffer.from(value.source),
      value: await codec.encode(topic, type, value),
      timestampMs: value.ts,
    });
  }
  await producer.send(records);
  return { topic, accepted: records.length };
}
