import { describeError } from "../errors.js";
import type { Headers, IncomingRecord, OutgoingRecord } from "../transport/transport.js";
import { dlqTopic } from "./topology.js";

/** Header names on dead-lettered records. */
export const DLQ_HEADERS = {
  code: "spikemesh.error.code",
  message: "spikemesh.error.message",
  processor: "spikemesh.error.processor",
  topic: "spikemesh.source.topic",
  partition: "spikemesh.source.partition",
  offset: "spikemesh.source.offset",
  timestamp: "spikemesh.source.timestamp",
} as const;

const MAX_MESSAGE_CHARS = 1000;

/** The original key, value and headers, plus headers saying what failed and where it came from. */
export function deadLetter(rec: IncomingRecord, processor: string, err: unknown): OutgoingRecord {
  const code = (err as { code?: unknown })?.code;
  const headers: Headers = {
    ...rec.headers,
    [DLQ_HEADERS.code]: typeof code === "string" ? code : "UNKNOWN",
    [DLQ_HEADERS.message]: describeError(err).slice(0, MAX_MESSAGE_CHARS),
    [DLQ_HEADERS.processor]: processor,
    [DLQ_HEADERS.topic]: rec.topic,
    [DLQ_HEADERS.partition]: String(rec.partition),
    [DLQ_HEADERS.offset]: String(rec.offset),
    [DLQ_HEADERS.timestamp]: String(rec.timestampMs),
  };
  return {
    topic: dlqTopic(rec.topic),
    partition: rec.partition,
    key: rec.key,
    value: rec.value,
    headers,
    timestampMs: rec.timestampMs,
  };
}
