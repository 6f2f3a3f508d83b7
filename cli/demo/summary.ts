import {
  type ControlAction,
  type Feedback,
  type ReasoningRequest,
  type ReasoningResult,
  type RecordType,
  type RouteWeight,
  recordTypes,
  type SpikeRecord,
} from "../../schemas/index.js";
import { readToEnd } from "../../streams/index.js";
import type { RecordCodec } from "../../streams/topology/codec.js";
import type { Transport } from "../../streams/transport/transport.js";
import { MESH_TOPICS } from "../mesh-topology.js";
import type { Incident } from "./telemetry-generator.js";

export interface IncidentOutcome {
  name: string;
  /** Spikes on the incident's sources and metric inside its time window. */
  spikes: number;
  /** Tiers of the requests whose spikes fall in the incident (empty: never escalated). */
  escalatedTo: string[];
  /** Verdicts of the results of those requests. */
  verdicts: string[];
}

export interface DemoSummary {
  /** Records the SNN filters read: telemetry samples and log lines. */
  events: number;
  /** Of the events, log lines on logs.raw. */
  logLines: number;
  spikes: number;
  /** Spikes per source, then per metric (from the spike's payload; "" for spikes that name none). */
  spikesBySource: Record<string, Record<string, number>>;
  /** 1 - spikes / events: the share of events that woke nothing. */
  suppression: number;
  escalations: Record<string, number>;
  /** Requests that reached a model tier (phi2 or deepseek) per 1000 events. */
  modelCallsPer1000Events: number;
  verdicts: Record<string, number>;
  models: Record<string, number>;
  actions: Record<string, number>;
  feedback: Record<string, number>;
  routeWeights: { route: string; weight: number; updates: number }[];
  deadLetters: Record<string, number>;
  incidents: IncidentOutcome[];
}

const MODEL_TIERS = new Set(["phi2", "deepseek"]);

/**
 * Everything in the summary is read back from the topics after the run: counts of records on each
 * topic, decoded through the registry like any consumer would.
 */
export async function summarize(
  transport: Transport,
  codec: RecordCodec,
  incidents: readonly Incident[],
): Promise<DemoSummary> {
  const t = MESH_TOPICS;
  const logLines = await countRecords(transport, t.logs);
  const events = (await countRecords(transport, t.telemetry)) + logLines;
  const spikes = await readTopic<SpikeRecord>(transport, codec, t.spikes, recordTypes.SpikeRecord);
  const requests: ReasoningRequest[] = [];
  const escalations: Record<string, number> = {};
  for (const tier of ["rules", "phi2", "deepseek"] as const) {
    const got = await readTopic<ReasoningRequest>(transport, codec, t[tier], recordTypes.ReasoningRequest);
    escalations[tier] = got.length;
    requests.push(...got);
  }
  const results = await readTopic<ReasoningResult>(transport, codec, t.results, recordTypes.ReasoningResult);
  const actions = await readTopic<ControlAction>(transport, codec, t.control, recordTypes.ControlAction);
  const feedback = await readTopic<Feedback>(transport, codec, t.feedback, recordTypes.Feedback);
  const weights = await readTopic<RouteWeight>(transport, codec, t.weights, recordTypes.RouteWeight);

  const latestWeight = new Map<string, RouteWeight>();
  for (const w of weights) latestWeight.set(w.route, w);
  const deadLetters: Record<string, number> = {};
  for (const topic of await transport.admin().listTopics()) {
    if (!topic.endsWith(".dlq")) continue;
    const n = await countRecords(transport, topic);
    if (n > 0) deadLetters[topic] = n;
  }
  const modelCalls = requests.filter((r) => MODEL_TIERS.has(r.tier)).length;
  return {
    events,
    logLines,
    spikes: spikes.length,
    spikesBySource: spikesBySource(spikes),
    suppression: events === 0 ? 0 : 1 - spikes.length / events,
    escalations,
    modelCallsPer1000Events: events === 0 ? 0 : (1000 * modelCalls) / events,
    verdicts: tally(results, (r) => r.verdict),
    models: tally(results, (r) => `${r.tier}: ${r.model}`),
    actions: tally(actions, (a) => a.action),
    feedback: tally(feedback, (f) => f.outcome),
    routeWeights: [...latestWeight.values()]
      .map(({ route, weight, updates }) => ({ route, weight, updates }))
      .sort((a, b) => a.route.localeCompare(b.route)),
    deadLetters,
    incidents: incidents.map((incident) => incidentOutcome(incident, spikes, requests, results)),
  };
}

function incidentOutcome(
  incident: Incident,
  spikes: readonly SpikeRecord[],
  requests: readonly ReasoningRequest[],
  results: readonly ReasoningResult[],
): IncidentOutcome {
  const inIncident = (s: SpikeRecord) =>
    incident.sources.includes(s.source) &&
    s.timestamp >= incident.startMs &&
    s.timestamp <= incident.endMs &&
    spikeMetric(s) === incident.metric;
  const hit = requests.filter((r) => r.spikes.some(inIncident));
  const ids = new Set(hit.map((r) => r.id));
  return {
    name: incident.name,
    spikes: spikes.filter(inIncident).length,
    escalatedTo: [...new Set(hit.map((r) => r.tier))].sort(),
    verdicts: [...new Set(results.filter((r) => ids.has(r.id)).map((r) => r.verdict))].sort(),
  };
}

/** The metric a spike fired on (log spikes: log.<role>), from its JSON payload (undefined when none). */
function spikeMetric(spike: SpikeRecord): string | undefined {
  try {
    const payload = JSON.parse(spike.payload) as { metric?: unknown };
    return typeof payload.metric === "string" ? payload.metric : undefined;
  } catch {
    return undefined;
  }
}

function spikesBySource(spikes: readonly SpikeRecord[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const s of spikes) {
    const metric = spikeMetric(s) ?? "";
    const bySource = out[s.source] ?? {};
    out[s.source] = bySource;
    bySource[metric] = (bySource[metric] ?? 0) + 1;
  }
  return out;
}

function tally<T>(items: readonly T[], keyOf: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const key = keyOf(item);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Records currently on a topic (end minus start offsets over its partitions). */
export async function countRecords(transport: Transport, topic: string): Promise<number> {
  const [description] = await transport.admin().describeTopics([topic]);
  return (description?.partitions ?? []).reduce((n, p) => n + p.highOffset - p.lowOffset, 0);
}

let readSeq = 0;

async function readTopic<T>(
  transport: Transport,
  codec: RecordCodec,
  topic: string,
  type: RecordType<T>,
): Promise<T[]> {
  const raw: Buffer[] = [];
  await readToEnd(transport, topic, "all", `spikemesh-demo-summary-${++readSeq}`, (rec) => {
    if (rec.value) raw.push(rec.value);
  });
  const out: T[] = [];
  for (const bytes of raw) out.push((await codec.decode(topic, type, bytes)) as T);
  return out;
}
