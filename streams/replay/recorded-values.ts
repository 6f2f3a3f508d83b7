import avro from "avsc";
import { avroBoundsError } from "../serde/avro-bounds.js";
import type { RecordedRecord } from "./recording-format.js";
import type { RecordingReader } from "./recording-reader.js";

/**
 * Decodes recorded values with the schemas the recording embeds (Confluent wire format: magic 0,
 * 4-byte schema id, Avro body), so a recording can be read without any registry. One Avro type per
 * schema id, built on first use.
 */
export class RecordedValueDecoder {
  private readonly types = new Map<number, avro.Type>();

  constructor(private readonly reader: RecordingReader) {}

  /**
   * The value decoded by its writer's schema, or undefined when it is null, not in the wire format,
   * written with a schema the recording lacks, or not valid for it.
   */
  decode(rec: RecordedRecord): unknown {
    const v = rec.value;
    if (v === null || v.length < 5 || v[0] !== 0) return undefined;
    const id = v.readInt32BE(1);
    let type = this.types.get(id);
    if (!type) {
      const schema = this.reader.schemas.get(id);
      if (!schema) return undefined;
      type = avro.Type.forSchema(JSON.parse(schema.schema) as avro.Schema);
      this.types.set(id, type);
    }
    // A hostile block count would keep fromBuffer busy for hours (avro-bounds.ts).
    if (avroBoundsError(type, v, 5) !== null) return undefined;
    try {
      return type.fromBuffer(v.subarray(5));
    } catch {
      return undefined;
    }
  }

  /** The decoded value as plain JSON (what `inspect` prints), or undefined as for `decode`. */
  decodeJson(rec: RecordedRecord): unknown {
    const value = this.decode(rec);
    if (value === undefined) return undefined;
    const id = rec.value!.readInt32BE(1);
    return JSON.parse(this.types.get(id)!.toString(value));
  }
}
