/** Serde and schema registry: Confluent wire format over any registry, and an embedded registry. */

export {
  RegistrySerde,
  type RegistrySerdeOptions,
  type SerdeDecodeOptions,
  WIRE_HEADER_BYTES,
} from "./record-serde.js";
export { RegistryApiError } from "./registry-api-error.js";
export { RegistryCodec, type RegistryCodecOptions } from "./registry-codec.js";
export {
  COMPATIBILITY_LEVELS,
  type CompatibilityLevel,
  DEFAULT_COMPATIBILITY,
  isCompatibilityLevel,
} from "./registry-compat.js";
export { REGISTRY_FILE } from "./registry-file.js";
export { REGISTRY_CONTENT_TYPE } from "./registry-http.js";
export { SchemaRegistryServer, type SchemaRegistryServerOptions } from "./registry-server.js";
export { keySubject, valueSubject } from "./subject-name.js";
