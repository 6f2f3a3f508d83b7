import { type RecordType, recordTypes } from "../schemas/index.js";

/** The record type each well-known topic carries (DESIGN.md "Topics and records"). */
export function recordTypeForTopic(topic: string): RecordType<unknown> | undefined {
  if (topic === "telemetry.raw") return recordTypes.TelemetryEvent;
  if (topic === "logs.raw") return recordTypes.LogEvent;
  if (topic === "media.raw") return recordTypes.MediaEvent;
  if (topic === "media.features") return recordTypes.TelemetryEvent;
  if (topic === "spikes") return recordTypes.SpikeRecord;
  if (topic.startsWith("escalations.")) return recordTypes.ReasoningRequest;
  if (topic === "reasoning.results") return recordTypes.ReasoningResult;
  if (topic === "control") return recordTypes.ControlAction;
  if (topic === "feedback") return recordTypes.Feedback;
  if (topic === "route-weights") return recordTypes.RouteWeight;
  if (topic === "workers.heartbeats") return recordTypes.WorkerHeartbeat;
  if (/^workers\.[^.]+\.dispatch$/.test(topic)) return recordTypes.DispatchEvent;
  if (/^workers\.[^.]+\.assignments$/.test(topic)) return recordTypes.ReasoningRequest;
  if (topic === "swarm.thoughts") return recordTypes.SwarmThought;
  if (topic.startsWith("swarm.")) return recordTypes.SwarmMessage;
  return undefined;
}

export function recordTypeByName(name: string): RecordType<unknown> | undefined {
  return (recordTypes as Record<string, RecordType<unknown>>)[name];
}

export const recordTypeNames = (): string[] => Object.keys(recordTypes);
