import { hash } from "node:crypto";
import type { SpikeRecord, TelemetryEvent } from "../../schemas/index.js";
import type { Detection } from "./telemetry-network.js";

/** `target_rank` of emitted spikes: they go to the router, which picks the tier. */
export const ROUTER_RANK = 0;

/**
 * The SpikeRecord for a detection: `type` SENSOR_EVENT, `timestamp` = the sample's `ts`,
 * `source_rank` = input partition (the emitting instance), `target_rank` = 0 (the router),
 * `neuron` = index in NEURON_ROLES, `intensity` = potential / threshold at firing (≥ 1), `traceId` =
 * 32 hex digits derived from key and `ts`, and `payload` = compact JSON
 * `{metric, value, role, z, basis, dz, min, max, mean}`: z of the value against its `basis` (the
 * running mean, "level", the daily seasonal baseline, "seasonal", or the weekly one, "weekly"), z of
 * its change, and the recent values' min/max/mean; numbers to 6 significant digits.
 */
export function spikeRecord(
  event: TelemetryEvent,
  key: string,
  d: Detection,
  partition: number,
): SpikeRecord {
  const payload = {
    metric: event.metric,
    value: compact(event.value),
    role: d.role,
    z: compact(d.score),
    basis: d.basis,
    dz: compact(d.changeScore),
    min: compact(d.recent.min),
    max: compact(d.recent.max),
    mean: compact(d.recent.mean),
  };
  return {
    timestamp: event.ts,
    source_rank: partition,
    target_rank: ROUTER_RANK,
    type: "SENSOR_EVENT",
    payload: JSON.stringify(payload),
    source: event.source,
    neuron: d.neuron,
    intensity: d.intensity,
    traceId: traceIdOf(key, event.ts),
  };
}

/** 32 lowercase hex digits (a W3C trace-id) that depend only on the key and event time. */
export function traceIdOf(key: string, tsMs: number): string {
  return hash("sha256", `${key}\n${tsMs}`, "hex").slice(0, 32);
}

function compact(x: number): number | null {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : null;
}
