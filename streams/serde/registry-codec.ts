import type { RecordType } from "../../schemas/index.js";
import { DecodeError, SpikemeshError } from "../errors.js";
import { CODEC_PENDING, type RecordCodec } from "../topology/codec.js";
import { NOT_CACHED, type RegistrySerde } from "./record-serde.js";
import { valueSubject } from "./subject-name.js";

export interface RegistryCodecOptions {
  /** Encoded records larger than this fail with RECORD_TOO_LARGE (the runner dead-letters them). */
  maxRecordBytes?: number;
}

/**
 * The runtime's RecordCodec: values travel in the Confluent wire format under the subject
 * `<topic>-value` (TopicNameStrategy), their schema registered on first use. Decoding reads the
 * writer's schema into the expected record type, so an older or newer writer with compatible
 * changes still decodes, and a record of another type is a DecodeError rather than a wrong value.
 */
export class RegistryCodec implements RecordCodec {
  private readonly maxRecordBytes: number;

  constructor(
    private readonly serde: RegistrySerde,
    options: RegistryCodecOptions = {},
  ) {
    this.maxRecordBytes = options.maxRecordBytes ?? 1024 * 1024;
  }

  async encode(topic: string, type: RecordType<unknown>, value: unknown): Promise<Buffer> {
    const subject = valueSubject(topic);
    await this.serde.register(subject, type);
    const bytes = await this.serde.encode(subject, value);
    this.checkEncodedSize(topic, type, bytes);
    return bytes;
  }

  private checkEncodedSize(topic: string, type: RecordType<unknown>, bytes: Buffer): void {
    if (bytes.length > this.maxRecordBytes) {
      throw new SpikemeshError(
        "RECORD_TOO_LARGE",
        `${type.name} for ${topic} encodes to ${bytes.length} bytes, over maxRecordBytes ${this.maxRecordBytes}`,
      );
    }
  }

  async decode(topic: string, type: RecordType<unknown>, bytes: Buffer): Promise<unknown> {
    this.checkSize(topic, bytes);
    return this.serde.decode(bytes, { readerSchema: type.schema });
  }

  /** `encode` without a promise once the topic's subject has its schema registered here. */
  encodeSync(topic: string, type: RecordType<unknown>, value: unknown): unknown {
    const bytes = this.serde.encodeCached(valueSubject(topic), type, value);
    if (bytes === NOT_CACHED) return CODEC_PENDING;
    this.checkEncodedSize(topic, type, bytes as Buffer);
    return bytes;
  }

  /** `decode` without a promise once the writer's schema id is cached (every record but the first). */
  decodeSync(topic: string, type: RecordType<unknown>, bytes: Buffer): unknown {
    this.checkSize(topic, bytes);
    const value = this.serde.decodeCached(bytes, { readerSchema: type.schema });
    return value === NOT_CACHED ? CODEC_PENDING : value;
  }

  private checkSize(topic: string, bytes: Buffer): void {
    if (bytes.length > this.maxRecordBytes) {
      throw new DecodeError(
        `record on ${topic} is ${bytes.length} bytes, over maxRecordBytes ${this.maxRecordBytes}`,
      );
    }
  }

  /** Decodes with the writer's own schema, whatever record it is (for `consume` and `inspect`). */
  decodeAny(bytes: Buffer): Promise<unknown> {
    return this.serde.decode(bytes);
  }
}
