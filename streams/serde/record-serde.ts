import { COMPATIBILITY, SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import avro from "avsc";
import type { AvroRecordSchema, RecordType } from "../../schemas/index.js";
import { DecodeError, SpikemeshError } from "../errors.js";
import { avroBoundsError } from "./avro-bounds.js";
import type { CompatibilityLevel } from "./registry-compat.js";
import { decodeCallError, invalidFields, registryCallError } from "./serde-errors.js";

/** Bytes before the Avro body in Confluent's wire format: magic byte 0 and a big-endian schema id. */
export const WIRE_HEADER_BYTES = 5;

export interface RegistrySerdeOptions {
  /** Base URL of any Confluent-compatible registry, embedded or external, e.g. `http://127.0.0.1:8081`. */
  url: string;
  /**
   * Level the client sets on a subject it registers first, and expects on subjects it registers
   * into later (a mismatch fails with CONFIG_INVALID). Default "BACKWARD".
   */
  compatibility?: CompatibilityLevel;
  /** Sent in the User-Agent. Default: the client's. */
  clientId?: string;
  /** Retries of failed HTTP calls (network errors and 5xx; never 4xx). Default 3, over at most 5 s. */
  retries?: number;
  /** API key sent with every call as HTTP Basic `spikemesh:<key>` (a registry that requires keys for writes). */
  apiKey?: string;
}

export interface SerdeDecodeOptions {
  /**
   * Read into this schema instead of the writer's (Avro schema resolution): added fields get their
   * defaults, removed ones are dropped. The resolver is built once per writer schema id.
   */
  readerSchema?: AvroRecordSchema;
}

/** The client's own defaults: up to 3 retries, 0.1 s growing ×2 with 20% jitter, at most 5 s. */
const DEFAULT_RETRY = {
  retries: 3,
  initialRetryTimeInSecs: 0.1,
  maxRetryTimeInSecs: 5,
  factor: 0.2,
  multiplier: 2,
} as const;

interface ReaderEntry {
  readonly type: avro.Type;
  /** Per writer schema id: how to read it, or SAME_SCHEMA when it is the reader's own (no resolving). */
  readonly resolvers: Map<number, ReturnType<avro.Type["createResolver"]> | typeof SAME_SCHEMA>;
}

/**
 * Avro values in Confluent's wire format (magic byte 0, 4-byte schema id, Avro body), through
 * @kafkajs/confluent-schema-registry. Schema ids and parsed schemas are cached: after a subject's
 * first register or encode, and after an id's first decode, no HTTP is made for it.
 */
export class RegistrySerde {
  /** Base URL of the registry. */
  readonly url: string;
  private readonly client: SchemaRegistry;
  private readonly compatibility: COMPATIBILITY;
  private readonly registered = new Map<string, Promise<number>>();
  /** The same promises keyed by schema object (schemas are treated as immutable once registered). */
  private readonly registeredBySchema = new WeakMap<object, Map<string, Promise<number>>>();
  private readonly writerIds = new Map<string, number>();
  /** Subjects each schema object's registration has completed under (for `encodeCached`). */
  private readonly settledBySchema = new WeakMap<object, Set<string>>();
  private readonly readers = new WeakMap<object, ReaderEntry>();
  /** Writer schemas by id (ids are immutable in a registry): decoding a known id needs no call. */
  private readonly writers = new Map<number, avro.Type>();

  constructor(options: RegistrySerdeOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.compatibility = COMPATIBILITY[options.compatibility ?? "BACKWARD"];
    this.client = new SchemaRegistry({
      host: this.url,
      ...(options.clientId === undefined ? {} : { clientId: options.clientId }),
      ...(options.apiKey === undefined ? {} : { auth: { username: "spikemesh", password: options.apiKey } }),
      // Always a full retry config: the client merges it into a module-wide default object (it
      // mutates it), so a partial one would leak into, and inherit from, other clients in the process.
      retry: { ...DEFAULT_RETRY, retries: options.retries ?? DEFAULT_RETRY.retries },
    });
  }

  /**
   * Registers `schema` under `subject` (idempotent; cached per subject and schema) and returns its id.
   * The cache also keys on the schema object, so a schema object must not be mutated once registered.
   * Later `encode(subject, …)` calls use this id. Throws SCHEMA_INCOMPATIBLE when the registry refuses
   * the change, CONFIG_INVALID for an invalid schema, TRANSIENT when the registry is unreachable.
   */
  register(subject: string, schema: AvroRecordSchema | RecordType<unknown>): Promise<number> {
    const json = "fields" in schema ? schema : schema.schema;
    // Fast path by schema object (RegistryCodec registers on every encode): no JSON.stringify.
    let bySubject = this.registeredBySchema.get(json);
    if (bySubject === undefined) {
      bySubject = new Map();
      this.registeredBySchema.set(json, bySubject);
    }
    const known = bySubject.get(subject);
    if (known !== undefined) return known;
    const pending = this.registerText(subject, JSON.stringify(json));
    const entries = bySubject;
    entries.set(subject, pending);
    pending.then(
      () => {
        let settled = this.settledBySchema.get(json);
        if (settled === undefined) {
          settled = new Set();
          this.settledBySchema.set(json, settled);
        }
        settled.add(subject);
      },
      () => entries.delete(subject),
    );
    return pending;
  }

  private registerText(subject: string, text: string): Promise<number> {
    const key = `${subject}\u0000${text}`;
    let pending = this.registered.get(key);
    if (!pending) {
      pending = this.client
        .register({ type: SchemaType.AVRO, schema: text }, { subject, compatibility: this.compatibility })
        .then(
          ({ id }) => {
            this.writerIds.set(subject, id);
            return id;
          },
          (err: unknown) => {
            this.registered.delete(key);
            throw registryCallError(err, `register a schema under subject "${subject}"`, this.url);
          },
        );
      this.registered.set(key, pending);
    }
    return pending;
  }

  /** The id `encode(subject, …)` writes with: the last one registered here, else the subject's latest. */
  async schemaId(subject: string): Promise<number> {
    const known = this.writerIds.get(subject);
    if (known !== undefined) return known;
    try {
      const id = await this.client.getLatestSchemaId(subject);
      this.writerIds.set(subject, id);
      return id;
    } catch (err) {
      throw registryCallError(err, `look up the latest schema of subject "${subject}"`, this.url);
    }
  }

  /**
   * Encodes `value` with the subject's schema into the Confluent wire format. Throws SpikemeshError
   * ENCODE_FAILED naming the offending field paths when `value` does not fit the schema.
   */
  async encode(subject: string, value: unknown): Promise<Buffer> {
    const id = this.writerIds.get(subject) ?? (await this.schemaId(subject));
    let type = this.writers.get(id);
    if (type === undefined) {
      try {
        type = (await this.client.getSchema(id)) as unknown as avro.Type;
      } catch (err) {
        throw registryCallError(err, `encode for subject "${subject}" with schema id ${id}`, this.url);
      }
      this.writers.set(id, type);
    }
    return this.encodeWith(subject, id, type, value);
  }

  /**
   * `encode` without a promise when `schema` was registered under `subject` here and its id's
   * schema is cached (every record of a subject but the first); `NOT_CACHED` otherwise, and the
   * caller awaits `encode`. Throws what `encode` throws for a value that does not fit.
   */
  encodeCached(subject: string, schema: AvroRecordSchema | RecordType<unknown>, value: unknown): unknown {
    const json = "fields" in schema ? schema : schema.schema;
    if (this.settledBySchema.get(json)?.has(subject) !== true) return NOT_CACHED;
    const id = this.writerIds.get(subject);
    const type = id === undefined ? undefined : this.writers.get(id);
    if (id === undefined || type === undefined) return NOT_CACHED;
    return this.encodeWith(subject, id, type, value);
  }

  /** The Confluent wire format of `value` (magic byte 0, big-endian id, Avro body). */
  private encodeWith(subject: string, id: number, type: avro.Type, value: unknown): Buffer {
    let body: Buffer;
    try {
      body = type.toBuffer(value);
    } catch (err) {
      const bad = invalidFields(type, value);
      const detail =
        bad.length > 0 ? bad.map((b) => `${b.path}: ${b.problem}`).join("; ") : (err as Error).message;
      throw new SpikemeshError(
        "ENCODE_FAILED",
        `value does not match ${type.name ?? "the schema"} (subject "${subject}", schema id ${id}): ${detail}`,
        { cause: err, ...(bad[0] ? { context: { field: bad[0].path } } : {}) },
      );
    }
    const framed = Buffer.allocUnsafe(WIRE_HEADER_BYTES + body.length);
    framed[0] = 0;
    framed.writeInt32BE(id, 1);
    body.copy(framed, WIRE_HEADER_BYTES);
    return framed;
  }

  /**
   * Decodes a Confluent-framed record. `T` is not checked: pass the type the subject's schema gives.
   * Throws DecodeError when the input is not a Buffer, is shorter than the 5-byte header, has a magic
   * byte other than 0, names an unknown schema id, or has a truncated or corrupt Avro body (lengths
   * and block counts are checked against the bytes first, see avro-bounds.ts); throws
   * TRANSIENT (retriable) when the registry cannot be reached to fetch a new schema id.
   */
  async decode<T = unknown>(input: unknown, options: SerdeDecodeOptions = {}): Promise<T> {
    const buffer = wireFramed(input);
    const id = buffer.readInt32BE(1);
    let writer = this.writers.get(id);
    if (writer === undefined) {
      try {
        writer = (await this.client.getSchema(id)) as unknown as avro.Type;
      } catch (err) {
        throw decodeCallError(err, id, buffer.length - WIRE_HEADER_BYTES, this.url);
      }
      this.writers.set(id, writer);
    }
    return this.decodeWith(buffer, id, writer, options) as T;
  }

  /**
   * `decode` without a promise when the writer's schema id was seen before (no registry call
   * needed); `NOT_CACHED` otherwise, and the caller awaits `decode`. Throws what `decode` throws.
   */
  decodeCached(input: unknown, options: SerdeDecodeOptions = {}): unknown {
    const buffer = wireFramed(input);
    const id = buffer.readInt32BE(1);
    const writer = this.writers.get(id);
    return writer === undefined ? NOT_CACHED : this.decodeWith(buffer, id, writer, options);
  }

  private decodeWith(buffer: Buffer, id: number, writer: avro.Type, options: SerdeDecodeOptions): unknown {
    try {
      const bounds = avroBoundsError(writer, buffer, WIRE_HEADER_BYTES);
      if (bounds !== null) {
        throw new DecodeError(
          `Avro body does not decode with schema id ${id} (${buffer.length - WIRE_HEADER_BYTES} body bytes; truncated or corrupt): ${bounds.message}`,
          { cause: bounds },
        );
      }
      const body = buffer.subarray(WIRE_HEADER_BYTES);
      if (!options.readerSchema) return writer.fromBuffer(body);
      const reader = this.readerOf(options.readerSchema).type;
      const resolver = this.resolverOf(id, writer, options.readerSchema);
      return resolver === SAME_SCHEMA ? reader.fromBuffer(body) : reader.fromBuffer(body, resolver);
    } catch (err) {
      throw decodeCallError(err, id, buffer.length - WIRE_HEADER_BYTES, this.url);
    }
  }

  private readerOf(readerSchema: AvroRecordSchema): ReaderEntry {
    let entry = this.readers.get(readerSchema);
    if (!entry) {
      entry = { type: avro.Type.forSchema(readerSchema as unknown as avro.Schema), resolvers: new Map() };
      this.readers.set(readerSchema, entry);
    }
    return entry;
  }

  private resolverOf(
    id: number,
    writer: avro.Type,
    readerSchema: AvroRecordSchema,
  ): ReturnType<avro.Type["createResolver"]> | typeof SAME_SCHEMA {
    const entry = this.readerOf(readerSchema);
    let resolver = entry.resolvers.get(id);
    if (!resolver) {
      try {
        // The same schema (attributes and defaults too) needs no resolver, and reads faster without.
        resolver = sameSchema(entry.type, writer) ? SAME_SCHEMA : entry.type.createResolver(writer);
      } catch (err) {
        throw new DecodeError(
          `schema id ${id} (${writer.name ?? "unnamed"}) cannot be read as ${entry.type.name ?? "the reader schema"}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      entry.resolvers.set(id, resolver);
    }
    return resolver;
  }
}

/** Same canonical schema and the same attributes (defaults, logical types, docs). */
function sameSchema(a: avro.Type, b: avro.Type): boolean {
  return (
    a.equals(b) &&
    JSON.stringify(a.schema({ exportAttrs: true })) === JSON.stringify(b.schema({ exportAttrs: true }))
  );
}

/** Marks a writer schema that is the reader schema itself. */
const SAME_SCHEMA: unique symbol = Symbol("spikemesh.serde.sameSchema");

/** What `decodeCached` returns when the schema id still has to be fetched from the registry. */
export const NOT_CACHED: unique symbol = Symbol("spikemesh.serde.notCached");

/** `buffer` as a Confluent-framed record (magic byte and schema id present); DecodeError if it is not one. */
function wireFramed(buffer: unknown): Buffer {
  if (!Buffer.isBuffer(buffer)) {
    throw new DecodeError(
      `cannot decode ${describeInput(buffer)}: expected a Buffer in the Confluent wire format`,
    );
  }
  if (buffer.length < WIRE_HEADER_BYTES) {
    throw new DecodeError(
      `truncated record: ${buffer.length} bytes, the Confluent wire format needs at least ${WIRE_HEADER_BYTES} (magic byte and schema id)`,
    );
  }
  if (buffer[0] !== 0) {
    throw new DecodeError(
      `wrong magic byte 0x${buffer[0]!.toString(16).padStart(2, "0")} (expected 0x00): not a Confluent wire-format record`,
    );
  }
  return buffer;
}

function describeInput(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return "a Uint8Array that is not a Buffer";
  return typeof value === "object"
    ? `an object (${value.constructor?.name ?? "Object"})`
    : `a ${typeof value}`;
}
