import {
  type ReasoningResult,
  type RouteWeight,
  recordTypes,
  type SpikeRecord,
} from "../../schemas/index.js";
import type { Logger } from "../../streams/index.js";
import type { RecordCodec } from "../../streams/topology/codec.js";
import type { Consumer, IncomingRecord, Transport } from "../../streams/transport/transport.js";
import { MESH_TOPICS } from "../mesh-topology.js";

/** One spike as the raster draws it: event time, a row (source, metric, neuron) and its intensity. */
export interface LiveSpike {
  t: number;
  row: string;
  intensity: number;
}

export interface LiveResult {
  t: number;
  tier: string;
  verdict: string;
  model: string;
  latencyMs: number;
}

export interface LiveWeight {
  route: string;
  weight: number;
  updates: number;
}

/** What the page gets: all of it once on connect, then what is new every `flushMs`. */
export interface LiveBatch {
  spikes: LiveSpike[];
  results: LiveResult[];
  weights: LiveWeight[];
  /** Spikes and results seen since the feed started (the buffers below are bounded). */
  totals: { spikes: number; results: Record<string, number> };
}

export interface LiveFeedOptions {
  transport: Transport;
  codec: RecordCodec;
  log: Logger;
  /** Consumer group of the feed; it never commits. */
  groupId: string;
  /** Read the topics from their start (the demo's fresh topics) rather than from their end. */
  fromBeginning: boolean;
  /** Spikes and results kept for a page that connects later. Default 4000 and 500. */
  maxSpikes?: number;
  maxResults?: number;
}

/**
 * Tails `spikes`, `reasoning.results` and `route-weights` for the live view with a consumer of its
 * own, and keeps bounded recent history. Started by the first page that connects; a topic that does
 * not exist yet (the runner creates it) is retried every second.
 */
export class LiveFeed {
  private readonly spikes: LiveSpike[] = [];
  private readonly results: LiveResult[] = [];
  private readonly weights = new Map<string, LiveWeight>();
  private readonly totals: LiveBatch["totals"] = { spikes: 0, results: {} };
  private readonly listeners = new Set<(batch: LiveBatch) => void>();
  private readonly abort = new AbortController();
  private pending: LiveBatch = emptyBatch(this.totals);
  private loop: Promise<void> | null = null;
  private consumer: Consumer | null = null;

  constructor(private readonly opts: LiveFeedOptions) {}

  /** Everything kept, for a page that just connected. */
  snapshot(): LiveBatch {
    return {
      spikes: [...this.spikes],
      results: [...this.results],
      weights: [...this.weights.values()],
      totals: this.totals,
    };
  }

  /** Calls `listener` with each non-empty batch of news; returns the unsubscribe function. */
  subscribe(listener: (batch: LiveBatch) => void): () => void {
    this.loop ??= this.run();
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hands the news gathered since the last flush to the listeners. */
  flush(): void {
    const batch = this.pending;
    if (batch.spikes.length + batch.results.length + batch.weights.length === 0) return;
    this.pending = emptyBatch(this.totals);
    for (const listener of this.listeners) listener(batch);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.listeners.clear();
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    const t = MESH_TOPICS;
    while (!signal.aborted) {
      try {
        if (!this.consumer) {
          const consumer = this.opts.transport.consumer({
            groupId: this.opts.groupId,
            autoOffsetReset: this.opts.fromBeginning ? "earliest" : "latest",
          });
          try {
            await consumer.subscribe([t.spikes, t.results, t.weights]);
          } catch (err) {
            await consumer.close().catch(() => undefined);
            throw err;
          }
          this.consumer = consumer;
        }
        const recs = await this.consumer.poll({ maxRecords: 1000, maxWaitMs: 200, signal });
        for (const rec of recs) await this.take(rec);
      } catch (err) {
        if (signal.aborted) break;
        this.opts.log.debug({ err }, "live view: topics not readable yet; retrying in 1 s");
        await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      }
    }
    await this.consumer?.close().catch(() => undefined);
  }

  private async take(rec: IncomingRecord): Promise<void> {
    if (rec.value === null) return;
    const { codec } = this.opts;
    try {
      if (rec.topic === MESH_TOPICS.spikes) {
        const s = (await codec.decode(rec.topic, recordTypes.SpikeRecord, rec.value)) as SpikeRecord;
        const spike = {
          t: s.timestamp,
          row: `${s.source} ${metricOf(s.payload)}#${s.neuron}`,
          intensity: s.intensity,
        };
        push(this.spikes, spike, this.opts.maxSpikes ?? 4000);
        this.pending.spikes.push(spike);
        this.totals.spikes++;
      } else if (rec.topic === MESH_TOPICS.results) {
        const r = (await codec.decode(rec.topic, recordTypes.ReasoningResult, rec.value)) as ReasoningResult;
        const result = { t: r.ts, tier: r.tier, verdict: r.verdict, model: r.model, latencyMs: r.latencyMs };
        push(this.results, result, this.opts.maxResults ?? 500);
        this.pending.results.push(result);
        this.totals.results[r.tier] = (this.totals.results[r.tier] ?? 0) + 1;
      } else if (rec.topic === MESH_TOPICS.weights) {
        const w = (await codec.decode(rec.topic, recordTypes.RouteWeight, rec.value)) as RouteWeight;
        const weight = { route: w.route, weight: w.weight, updates: w.updates };
        this.weights.set(w.route, weight);
        this.pending.weights.push(weight);
      }
    } catch (err) {
      // A record the view cannot decode is the processors' business (they dead-letter it), not the view's.
      this.opts.log.debug({ err, topic: rec.topic, offset: rec.offset }, "live view: record skipped");
    }
  }
}

function emptyBatch(totals: LiveBatch["totals"]): LiveBatch {
  return { spikes: [], results: [], weights: [], totals };
}

function push<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

/** The metric a spike is about, from its JSON payload when it names one. */
function metricOf(payload: string): string {
  try {
    const metric = (JSON.parse(payload) as { metric?: unknown }).metric;
    return typeof metric === "string" ? metric : "";
  } catch {
    return "";
  }
}
