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
  /**
   * Optional: `decode` without a promise when nothing has to be fetched (the writer's schema is
   * known); returns `CODEC_PENDING` otherwise, and the runtime awaits `decode`. Throws what `decode`
   * throws.
   */
  decodeSync?(topic: string, type: RecordType<unknown>, bytes: Buffer): unknown;
  /**
   * Optional: `encode` without a promise when nothing has to be registered or fetched; returns
   * `CODEC_PENDING` otherwise (a Buffer when it encoded). Throws what `encode` throws.
   */
  encodeSync?(topic: string, type: RecordType<unknown>, value: unknown): unknown;
}

/** What `RecordCodec.decodeSync` returns when the record can only be decoded asynchronously. */
export const CODEC_PENDING: unique symbol = Symbol("spikemesh.codec.pending");
