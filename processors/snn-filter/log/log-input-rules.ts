import type { LogEvent } from "../../../schemas/index.js";
import type { ErrorCode } from "../../../streams/index.js";
import type { InvalidReason } from "../snn-metrics.js";
import type { LogNetwork } from "./log-network.js";

/** What the log filter does with one line: mine it, or dead-letter it with a reason. */
export type LineVerdict =
  | { action: "apply" }
  | { action: "reject"; code: ErrorCode; reason: InvalidReason; field: string; detail: string };

const APPLY: LineVerdict = Object.freeze({ action: "apply" });

export interface LineLimits {
  allowedLatenessMs: number;
  maxSources: number;
  maxLineBytes: number;
}

/**
 * The SNN log filter's input rules (processors/snn-filter/README.md, "Logs"): rejects an empty
 * source or a blank message, a non-finite `ts`, a message over `maxLineBytes` (RECORD_TOO_LARGE), a
 * line more than `allowedLatenessMs` behind its source's newest, and a new source beyond
 * `maxSources`; applies everything else. Changes no state.
 */
export function judgeLine(network: LogNetwork, limits: LineLimits, event: LogEvent): LineVerdict {
  const { source, message, ts } = event;
  if (source === "") {
    return reject("empty_field", "source", "source is empty; producers must set it");
  }
  if (message.trim() === "") {
    return reject("empty_field", "message", `message of ${source} is blank; there is nothing to mine`);
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only long messages need counting.
  if (message.length * 3 > limits.maxLineBytes) {
    const bytes = Buffer.byteLength(message, "utf8");
    if (bytes > limits.maxLineBytes) {
      return {
        action: "reject",
        code: "RECORD_TOO_LARGE",
        reason: "too_long",
        field: "message",
        detail: `message of ${source} is ${bytes} bytes, over maxLineBytes (${limits.maxLineBytes}); split it or raise maxLineBytes`,
      };
    }
  }
  if (!Number.isFinite(ts)) return reject("non_finite", "ts", `ts of ${source} is ${ts}`);
  const last = network.lastTimeOf(source);
  if (last === undefined) {
    if (network.keyCount >= limits.maxSources) {
      return reject(
        "too_many_keys",
        "source",
        `${source} would be source ${network.keyCount + 1}, beyond maxSources (${limits.maxSources}); raise maxSources or add partitions`,
      );
    }
    return APPLY;
  }
  if (ts < last - limits.allowedLatenessMs) {
    return reject(
      "late",
      "ts",
      `a line of ${source} is ${last - ts} ms behind its newest, more than allowedLatenessMs (${limits.allowedLatenessMs}); raise allowedLatenessMs to accept it`,
    );
  }
  return APPLY;
}

function reject(reason: InvalidReason, field: string, detail: string): LineVerdict {
  return { action: "reject", code: "RECORD_INVALID", reason, field, detail };
}
