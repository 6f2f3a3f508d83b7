import type { RecordType } from "../../schemas/index.js";

/**
 * Turns record values into bytes on a topic and back. The runtime uses the registry codec
 * (Confluent wire format); the test driver uses plain Avro bodies.
 */
export interface RecordCodec {
  /** Throws SpikemeshError ENCODE_FAILED naming the bad field, RECORD_TOO_LARGE past the size limit. */
  encode(topic: string, type: RecordType<unknown>, value: unknown): Promise<Buffer>;
  /** Throws DecodeError (bad framing, unknown schema id, truncated body, wrong record type). */
  decode(topic: string, type: RecordType<unknown>, bytes: Buffer): Promise<unknown>;
}
