import type { LogEvent, SpikeRecord } from "../../../schemas/index.js";
import { ROUTER_RANK, traceIdOf } from "../spike-record.js";
import type { LogDetection } from "./log-network.js";

/** What a log spike says about its line: the template and an example of it. */
export interface LogSpikeLine {
  templateId: number;
  template: string;
  /** Lines the template has matched in this instance, this one included. */
  templateCount: number;
}

/**
 * The SpikeRecord for a log detection: `type` SENSOR_EVENT, `timestamp` = the line's `ts`, key =
 * `source`, `source_rank` = input partition, `target_rank` = 0 (the router), `neuron` = index in
 * LOG_NEURON_ROLES, `intensity` = potential / threshold at firing (≥ 1), `traceId` from source,
 * template and `ts`, and `payload` = compact JSON `{kind: "log", metric: "log.<role>", value, z,
 * role, level, templateId, template, example, isNew, rateZ, volumeZ, templateCount}`: `value` the
 * template's recent line count, `z` the score behind the neuron (null for a new template), the
 * template and the line itself cut to `maxTextChars`. The example is data from the log, never an
 * instruction.
 */
export function logSpikeRecord(
  event: LogEvent,
  line: LogSpikeLine,
  d: LogDetection,
  partition: number,
  maxTextChars: number,
): SpikeRecord {
  const z = d.role === "template.rate" ? d.rateScore : d.role === "source.volume" ? d.volumeScore : null;
  const payload = {
    kind: "log",
    metric: `log.${d.role}`,
    value: compact(d.recentLines),
    z: z === null ? null : compact(z),
    role: d.role,
    level: event.level,
    templateId: line.templateId,
    template: cut(line.template, maxTextChars),
    example: cut(event.message, maxTextChars),
    isNew: d.isNovel,
    rateZ: compact(d.rateScore),
    volumeZ: compact(d.volumeScore),
    templateCount: line.templateCount,
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
    traceId: traceIdOf(`${event.source}/log/${line.templateId}`, event.ts),
  };
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function compact(x: number): number | null {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : null;
}
