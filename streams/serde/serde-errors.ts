import type avro from "avsc";
import { DecodeError, SpikemeshError } from "../errors.js";

/** HTTP status of an error thrown by @kafkajs/confluent-schema-registry (network failures read as 400). */
function httpStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A registry call (`what`, e.g. `register subject "x-value"`) failed: maps the client's error to a
 * SpikemeshError. Unreachable registry and 5xx are TRANSIENT (retriable); 404 SCHEMA_UNKNOWN;
 * 409 SCHEMA_INCOMPATIBLE; invalid schemas, auth and level mismatches CONFIG_INVALID.
 */
export function registryCallError(err: unknown, what: string, url: string): SpikemeshError {
  if (err instanceof SpikemeshError) return err;
  const status = httpStatus(err);
  const detail = `${what} at schema registry ${url}: ${message(err)}`;
  if (status === 404) return new SpikemeshError("SCHEMA_UNKNOWN", `not found: ${detail}`, { cause: err });
  if (status === 409) {
    return new SpikemeshError(
      "SCHEMA_INCOMPATIBLE",
      `incompatible schema: ${detail}. Make the change compatible (add fields with defaults) or use a new subject.`,
      { cause: err },
    );
  }
  if (status === 401 || status === 403 || status === 422) {
    const hint = status === 422 ? "" : "; check registry.apiKey (the key this process sends)";
    return new SpikemeshError("CONFIG_INVALID", `rejected (HTTP ${status}): ${detail}${hint}`, {
      cause: err,
    });
  }
  if (status !== undefined) {
    return new SpikemeshError("TRANSIENT", `failed (HTTP ${status}): ${detail}`, {
      cause: err,
      retriable: true,
    });
  }
  const name = (err as { name?: unknown } | null)?.name;
  if (name === "ConfluentSchemaRegistryCompatibilityError") {
    return new SpikemeshError(
      "CONFIG_INVALID",
      `${detail}. The subject has another compatibility level than this serde's \`compatibility\` option; align them.`,
      { cause: err },
    );
  }
  if (name === "ConfluentSchemaRegistryArgumentError") {
    return new SpikemeshError("CONFIG_INVALID", `invalid schema or argument: ${detail}`, { cause: err });
  }
  return new SpikemeshError("INVARIANT", `unexpected failure: ${detail}`, { cause: err });
}

/**
 * Decoding a framed record with schema `id` failed inside the client: an unknown id or a body that is
 * not valid Avro becomes a DecodeError (to the DLQ); an unreachable registry stays TRANSIENT.
 */
export function decodeCallError(err: unknown, id: number, bodyBytes: number, url: string): SpikemeshError {
  if (err instanceof SpikemeshError) return err;
  const status = httpStatus(err);
  if (status === 404) {
    return new DecodeError(`unknown schema id ${id}: the schema registry at ${url} has no such schema`, {
      cause: err,
    });
  }
  if (status !== undefined) return registryCallError(err, `fetch schema id ${id}`, url);
  if ((err as { name?: unknown } | null)?.name === "ConfluentSchemaRegistryArgumentError") {
    return new DecodeError(`schema id ${id} from ${url} is not a usable Avro schema: ${message(err)}`, {
      cause: err,
    });
  }
  return new DecodeError(
    `Avro body does not decode with schema id ${id} (${bodyBytes} body bytes; truncated or corrupt): ${message(err)}`,
    { cause: err },
  );
}

/** Paths (e.g. `tags.host`, `spikes.0.neuron`) where `value` breaks `type`, with what is there and what is expected. */
export function invalidFields(type: avro.Type, value: unknown): { path: string; problem: string }[] {
  const found: { path: string; problem: string }[] = [];
  type.isValid(value, {
    errorHook: (path: string[], bad: unknown, expected: avro.Type) => {
      const shown = bad === undefined ? "missing" : truncate(JSON.stringify(bad) ?? String(bad));
      found.push({
        path: path.join(".") || "(root)",
        problem: `${shown}, expected ${expectedName(expected)}`,
      });
    },
  });
  return found;
}

function expectedName(type: avro.Type): string {
  return type.name ?? type.typeName;
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
