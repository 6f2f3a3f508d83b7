import { DecodeError, SpikemeshError } from "../../streams/index.js";

/** Why a media record was dead-lettered: a bounded label for metrics, and the start of the DLQ reason. */
export const REJECT_REASONS = [
  "unsupported_content_type",
  "kind_mismatch",
  "no_media",
  "bad_uri",
  "missing_file",
  "too_large",
  "corrupt_media",
  "wrong_shape",
  "inference_failed",
  "empty_source",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** A media record that cannot be encoded, with its reason; `toError` makes the dead-lettering error. */
export class MediaRejection extends Error {
  override readonly name = "MediaRejection";
  constructor(
    readonly reason: RejectReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }

  /**
   * The non-retriable SpikemeshError the runner dead-letters: DECODE_FAILED for corrupt media,
   * RECORD_TOO_LARGE for oversized payloads, RECORD_INVALID otherwise. The message starts with the
   * processor, topic and partition, then the reason.
   */
  toError(where: { processor: string; topic: string; partition: number }): SpikemeshError {
    const message = `${where.processor} (${where.topic}/${where.partition}): ${this.message}`;
    const options = { cause: this, context: { ...where, field: fieldOf(this.reason) } };
    if (this.reason === "corrupt_media") return new DecodeError(message, options);
    if (this.reason === "too_large") return new SpikemeshError("RECORD_TOO_LARGE", message, options);
    return new SpikemeshError("RECORD_INVALID", message, options);
  }
}

function fieldOf(reason: RejectReason): string {
  if (reason === "unsupported_content_type" || reason === "kind_mismatch") return "contentType";
  if (reason === "bad_uri" || reason === "missing_file") return "uri";
  if (reason === "empty_source") return "source";
  return "data";
}

export const reject = (reason: RejectReason, detail: string): MediaRejection =>
  new MediaRejection(reason, detail);
