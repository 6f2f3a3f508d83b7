import { type ErrorCode, SpikemeshError } from "../errors.js";

/**
 * An error the schema registry answers with: HTTP status plus Confluent's `error_code`
 * (e.g. 404/40401 subject not found, 409 incompatible, 422/42201 invalid schema).
 */
export class RegistryApiError extends SpikemeshError {
  override readonly name = "RegistryApiError";
  /** HTTP status of the response. */
  readonly status: number;
  /** Confluent error code in the response body. */
  readonly errorCode: number;

  constructor(status: number, errorCode: number, message: string, cause?: unknown) {
    super(codeForStatus(status), message, { retriable: status >= 500, cause });
    this.status = status;
    this.errorCode = errorCode;
  }

  /** The JSON body Confluent clients expect. */
  toBody(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

function codeForStatus(status: number): ErrorCode {
  if (status === 404) return "SCHEMA_UNKNOWN";
  if (status === 409) return "SCHEMA_INCOMPATIBLE";
  if (status >= 500) return "TRANSIENT";
  return "RECORD_INVALID";
}

export const subjectNotFound = (subject: string): RegistryApiError =>
  new RegistryApiError(404, 40401, `Subject '${subject}' not found.`);

export const versionNotFound = (subject: string, version: string | number): RegistryApiError =>
  new RegistryApiError(404, 40402, `Version ${version} not found for subject '${subject}'.`);

export const schemaNotFound = (what: string): RegistryApiError =>
  new RegistryApiError(404, 40403, `Schema ${what} not found.`);

export const subjectNotSoftDeleted = (subject: string): RegistryApiError =>
  new RegistryApiError(
    404,
    40405,
    `Subject '${subject}' was not deleted first before being permanently deleted; delete it without permanent=true first.`,
  );

export const versionNotSoftDeleted = (subject: string, version: number): RegistryApiError =>
  new RegistryApiError(
    404,
    40407,
    `Version ${version} of subject '${subject}' was not deleted first before being permanently deleted.`,
  );

export const subjectConfigNotFound = (subject: string): RegistryApiError =>
  new RegistryApiError(
    404,
    40408,
    `Subject '${subject}' does not have subject-level compatibility configured; ask with ?defaultToGlobal=true for the global level.`,
  );

export const invalidSchema = (why: string): RegistryApiError =>
  new RegistryApiError(422, 42201, `Invalid schema: ${why}`);

export const invalidVersion = (version: string): RegistryApiError =>
  new RegistryApiError(
    422,
    42202,
    `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest".`,
  );

export const invalidCompatibility = (level: unknown): RegistryApiError =>
  new RegistryApiError(
    422,
    42203,
    `Invalid compatibility level ${JSON.stringify(level)}. Valid values are NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL and FULL_TRANSITIVE.`,
  );

export const incompatibleSchema = (
  subject: string,
  level: string,
  problems: readonly string[],
): RegistryApiError =>
  new RegistryApiError(
    409,
    409,
    `Schema being registered is incompatible with an earlier schema for subject '${subject}' (compatibility ${level}), details: ${problems.join("; ")}`,
  );

export const badRequest = (why: string): RegistryApiError => new RegistryApiError(400, 400, why);
