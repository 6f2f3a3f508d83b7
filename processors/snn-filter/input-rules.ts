import { MAX_ABS_VALUE } from "./decaying-stats.js";
import type { InvalidReason } from "./snn-metrics.js";
import type { TelemetryNetwork } from "./telemetry-network.js";

/** What the filter does with one sample (README.md, "Input rules"). */
export type SampleVerdict =
  | { action: "apply" }
  | { action: "ignore"; why: "duplicate" }
  | { action: "reject"; reason: InvalidReason; field: string; detail: string };

const APPLY: SampleVerdict = Object.freeze({ action: "apply" });
const DUPLICATE: SampleVerdict = Object.freeze({ action: "ignore", why: "duplicate" });

export interface InputLimits {
  allowedLatenessMs: number;
  maxKeys: number;
}

/**
 * The SNN filter's input rules, in one place for the processor and the NAB runner: rejects
 * (dead-letters) empty source or metric, non-finite or out-of-range values and timestamps, samples
 * later than `allowedLatenessMs` behind their key's newest, and new keys beyond `maxKeys`; ignores an
 * exact repeat of a key's last sample; applies everything else. Changes no state.
 */
export function judgeSample(
  network: TelemetryNetwork,
  limits: InputLimits,
  source: string,
  metric: string,
  key: string,
  ts: number,
  value: number,
  /** The key's slot when the caller looked it up already (`network.slotIfKnown(key)`). */
  slot: number = network.slotIfKnown(key),
): SampleVerdict {
  if (source === "" || metric === "") {
    const field = source === "" ? "source" : "metric";
    return {
      action: "reject",
      reason: "empty_field",
      field,
      detail: `${field} is empty; producers must set it`,
    };
  }
  if (!Number.isFinite(value)) {
    return {
      action: "reject",
      reason: "non_finite",
      field: "value",
      detail: `value of ${key} is ${value}; telemetry values must be finite numbers`,
    };
  }
  if (Math.abs(value) > MAX_ABS_VALUE) {
    return {
      action: "reject",
      reason: "out_of_range",
      field: "value",
      detail: `value of ${key} is ${value}, beyond ±${MAX_ABS_VALUE}; check the producer's units`,
    };
  }
  if (!Number.isFinite(ts)) {
    return { action: "reject", reason: "non_finite", field: "ts", detail: `ts of ${key} is ${ts}` };
  }
  const last = network.lastTimeOfSlot(slot);
  if (last === undefined) {
    if (slot < 0 && network.keyCount >= limits.maxKeys) {
      return {
        action: "reject",
        reason: "too_many_keys",
        field: "metric",
        detail: `${key} would be key ${network.keyCount + 1}, beyond maxKeys (${limits.maxKeys}); raise maxKeys or add partitions`,
      };
    }
    return APPLY;
  }
  if (ts < last - limits.allowedLatenessMs) {
    return {
      action: "reject",
      reason: "late",
      field: "ts",
      detail:
        `${key} is ${last - ts} ms behind its newest sample, more than allowedLatenessMs ` +
        `(${limits.allowedLatenessMs}); raise allowedLatenessMs to accept it`,
    };
  }
  return network.isRepeatSlot(slot, ts, value) ? DUPLICATE : APPLY;
}
