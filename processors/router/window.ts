import type { SpikeRecord } from "../../schemas/index.js";
import { SpikemeshError } from "../../streams/index.js";
import type { CatalogueMatch, ObservedSpike } from "./catalogue.js";
import type { CaseKind } from "./routing.js";

/** What the router reads from a spike's payload JSON (the SNN filter writes at least these). */
export interface SpikeReading {
  metric: string;
  value: number | null;
  z: number | null;
  /**
   * Set for a correlated spike from the spike-correlator (type REASONING_TRIGGER, payload
   * `{kind: "correlated", sources: [...]}`): the sources that spiked together. Null otherwise.
   */
  correlatedSources?: string[] | null;
}

/** One source's spikes in one tumbling event-time window; a JSON value in the "windows" store. */
export interface OpenWindow {
  source: string;
  startMs: number;
  /** All spikes seen, including those beyond the retained ones. */
  count: number;
  lastMs: number;
  /** The first `maxSpikesPerWindow` spikes, with their payload readings. */
  spikes: Array<{ spike: SpikeRecord; reading: SpikeReading }>;
}

/**
 * A case is what one request is about: either one source's window, or - when at least
 * `correlationMinSources` sources spiked in the same window - all of those windows together.
 * The lead source (highest intensity, then smallest id) names the request and keys it.
 */
export interface RoutingCase {
  kind: CaseKind;
  startMs: number;
  endMs: number;
  lead: string;
  sources: string[];
  windows: OpenWindow[];
}

/** Reads metric/value/z from a spike payload; a payload that is not JSON or lacks `metric` is invalid. */
export function readSpike(spike: SpikeRecord): SpikeReading {
  let payload: unknown;
  try {
    payload = JSON.parse(spike.payload);
  } catch {
    throw new SpikemeshError("RECORD_INVALID", `spike from source ${spike.source}: payload is not JSON`, {
      context: { field: "payload" },
    });
  }
  const fields = (typeof payload === "object" && payload !== null ? payload : {}) as Record<string, unknown>;
  if (typeof fields.metric !== "string" || fields.metric === "") {
    throw new SpikemeshError(
      "RECORD_INVALID",
      `spike from source ${spike.source}: payload.metric must be a non-empty string`,
      { context: { field: "payload.metric" } },
    );
  }
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const reading: SpikeReading = { metric: fields.metric, value: num(fields.value), z: num(fields.z) };
  const sources = fields.sources;
  if (
    spike.type === "REASONING_TRIGGER" &&
    fields.kind === "correlated" &&
    Array.isArray(sources) &&
    sources.every((s) => typeof s === "string")
  ) {
    reading.correlatedSources = [...new Set(sources as string[])].sort(compareStrings);
  }
  return reading;
}

/** Start of the tumbling window holding `tsMs` (windows are aligned to multiples of `windowMs`). */
export function windowStart(tsMs: number, windowMs: number): number {
  return Math.floor(tsMs / windowMs) * windowMs;
}

/** Groups closed windows that share a start into cases, in a deterministic order. */
export function formCases(
  windows: readonly OpenWindow[],
  windowMs: number,
  correlationMinSources: number,
): RoutingCase[] {
  const byStart = new Map<number, OpenWindow[]>();
  for (const w of windows) {
    const group = byStart.get(w.startMs) ?? [];
    group.push(w);
    byStart.set(w.startMs, group);
  }
  const cases: RoutingCase[] = [];
  for (const startMs of [...byStart.keys()].sort((a, b) => a - b)) {
    const group = (byStart.get(startMs) ?? []).sort((a, b) => compareStrings(a.source, b.source));
    const endMs = startMs + windowMs;
    // A correlated spike (from the spike-correlator, which sees sources across partitions) makes its
    // window's case correlated even when this router instance saw only one of the sources.
    const correlated = group.flatMap((w) => w.spikes.flatMap((s) => s.reading.correlatedSources ?? []));
    if ((group.length >= correlationMinSources && group.length > 1) || correlated.length > 0) {
      cases.push({
        kind: "correlated",
        startMs,
        endMs,
        lead: leadSource(group),
        sources: [...new Set([...group.map((w) => w.source), ...correlated])].sort(compareStrings),
        windows: group,
      });
    } else {
      for (const w of group) {
        cases.push({ kind: "single", startMs, endMs, lead: w.source, sources: [w.source], windows: [w] });
      }
    }
  }
  return cases;
}

function leadSource(group: readonly OpenWindow[]): string {
  let lead = group[0];
  for (const w of group) {
    if (lead === undefined || maxIntensity(w) > maxIntensity(lead)) lead = w;
  }
  return lead?.source ?? "";
}

function maxIntensity(w: OpenWindow): number {
  return w.spikes.reduce((m, s) => Math.max(m, s.spike.intensity), 0);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The retained spikes of a case as the catalogue sees them. */
export function observedSpikes(c: RoutingCase): ObservedSpike[] {
  return c.windows.flatMap((w) =>
    w.spikes.map((s) => ({ source: w.source, metric: s.reading.metric, intensity: s.spike.intensity })),
  );
}

/** The spikes a request carries, oldest first. */
export function caseSpikes(c: RoutingCase): SpikeRecord[] {
  return c.windows.flatMap((w) => w.spikes.map((s) => s.spike)).sort((a, b) => a.timestamp - b.timestamp);
}

/** Per-metric digest in a request's context. */
export interface MetricSummary {
  count: number;
  maxIntensity: number;
  lastValue: number | null;
  maxAbsZ: number | null;
}

/**
 * The request context, a compact JSON document the tiers read:
 * `{ kind, window: {startMs, endMs}, sources, summary: {count, retained, maxIntensity, meanIntensity,
 * metrics: {name: MetricSummary}}, catalogue: CatalogueMatch[], routing?: {probabilities} }`.
 * Metric names and values are data from telemetry; tiers must treat them as such.
 */
export interface RequestContext {
  kind: CaseKind;
  window: { startMs: number; endMs: number };
  sources: string[];
  summary: {
    count: number;
    retained: number;
    maxIntensity: number;
    meanIntensity: number;
    metrics: Record<string, MetricSummary>;
  };
  catalogue: CatalogueMatch[];
  routing?: { probabilities: Record<string, number> };
}

export function buildContext(
  c: RoutingCase,
  catalogue: CatalogueMatch[],
  probabilities?: Record<string, number>,
): RequestContext {
  const metrics: Record<string, MetricSummary> = {};
  let count = 0;
  let retained = 0;
  let sum = 0;
  let max = 0;
  for (const w of c.windows) {
    count += w.count;
    for (const { spike, reading } of w.spikes) {
      retained++;
      sum += spike.intensity;
      max = Math.max(max, spike.intensity);
      const m = metrics[reading.metric] ?? { count: 0, maxIntensity: 0, lastValue: null, maxAbsZ: null };
      m.count++;
      m.maxIntensity = round(Math.max(m.maxIntensity, spike.intensity));
      if (reading.value !== null) m.lastValue = reading.value;
      if (reading.z !== null) m.maxAbsZ = round(Math.max(m.maxAbsZ ?? 0, Math.abs(reading.z)));
      metrics[reading.metric] = m;
    }
  }
  const context: RequestContext = {
    kind: c.kind,
    window: { startMs: c.startMs, endMs: c.endMs },
    sources: c.sources,
    summary: {
      count,
      retained,
      maxIntensity: round(max),
      meanIntensity: round(retained ? sum / retained : 0),
      metrics,
    },
    catalogue,
  };
  if (probabilities) context.routing = { probabilities };
  return context;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
