import {
  type AnomalyScore,
  recordTypes,
  type SpikeRecord,
  type TelemetryEvent,
} from "../../schemas/index.js";
import {
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type ProcessorSpec,
  type Rec,
  SpikemeshError,
} from "../../streams/index.js";
import { judgeSample } from "./input-rules.js";
import { keyStateSchema } from "./key-state.js";
import { type SnnFilterOptions, snnFilterOptions } from "./options.js";
import { type SnnMetrics, snnMetrics } from "./snn-metrics.js";
import { spikeRecord } from "./spike-record.js";
import { type KeyState, TelemetryNetwork } from "./telemetry-network.js";

export type SnnFilterOutputs = { spikes: SpikeRecord };
/** Outputs of `snnFilterWithScoresSpec`: the spikes, plus every sample's anomaly score. */
export type SnnFilterScoredOutputs = { spikes: SpikeRecord; scores: AnomalyScore };

/** Name of the state store holding one JSON snapshot per source/metric key. */
export const SNN_STATE_STORE = "snn-state";

/**
 * The SNN filter: watches telemetry per `${source}/${metric}` with a small population of leaky
 * integrate-and-fire neurons (see TelemetryNetwork) and emits a SpikeRecord on `spikes` only when a
 * neuron fires; every other event ends here. Dynamics run on the samples' event time (`ts`), so a
 * replay of the same input gives byte-identical spikes.
 *
 * Input rules (judgeSample; processors/snn-filter/README.md has the full list):
 * - dead-lettered as RECORD_INVALID (a non-retriable SpikemeshError; the runner sends it to the DLQ
 *   and goes on, never dropping it): a `value` that is NaN or ±Infinity, a |value| above
 *   MAX_ABS_VALUE (1e100), an empty `source` or `metric`, a `ts` more than `allowedLatenessMs`
 *   behind the newest `ts` of its key, a new key beyond `maxKeys`;
 * - applied at the key's newest time with Δt = 0 (no decay, no time reversal): a sample that is late
 *   by at most `allowedLatenessMs`, or that shares its key's newest `ts` with a different value;
 * - ignored (counted in spikemesh_snn_duplicate_records_total): an exact repeat of the key's last
 *   sample (same `ts` as the key's newest, same `value`), as a redelivery produces;
 * - a key silent for more than `maxGapMs` starts over and warms up again.
 *
 * State is checkpointed per key to the "snn-state" store every `checkpointEveryMs` of stream time
 * (keys that changed since the last checkpoint) and on close, and restored in init(), so a restarted
 * instance resumes where the last one stopped.
 */
export const snnFilterSpec: ProcessorSpec<TelemetryEvent, SnnFilterOutputs, SnnFilterOptions> = {
  name: "snn-filter",
  input: recordTypes.TelemetryEvent,
  outputs: { spikes: recordTypes.SpikeRecord },
  stores: [SNN_STATE_STORE],
  options: snnFilterOptions,
  create: (options) => new SnnFilter(options, false),
};

/**
 * The same filter with a second output, `scores`: every applied sample's AnomalyScore (the spikes
 * are unchanged). For evaluation and tuning, not for the mesh: it undoes the suppression.
 */
export const snnFilterWithScoresSpec: ProcessorSpec<
  TelemetryEvent,
  SnnFilterScoredOutputs,
  SnnFilterOptions
> = {
  ...(snnFilterSpec as unknown as ProcessorSpec<TelemetryEvent, SnnFilterScoredOutputs, SnnFilterOptions>),
  outputs: { spikes: recordTypes.SpikeRecord, scores: recordTypes.AnomalyScore },
  create: (options) => new SnnFilter(options, true),
};

class SnnFilter implements Processor<TelemetryEvent, SnnFilterScoredOutputs> {
  private readonly network: TelemetryNetwork;
  private readonly dirty = new Set<string>();
  /** Slots of the keys seen, by source and metric, and each slot's key (see rememberSlot). */
  private readonly slotsBySource = new Map<string, Map<string, number>>();
  private readonly keyOfSlot: string[] = [];
  private store: KeyValueStore<KeyState> | undefined;
  private metrics: SnnMetrics | undefined;
  private labels = { processor: "snn-filter", partition: "0" };
  /** The per-record counter, bound to this partition's labels once (no label hashing per record). */
  private eventsCounter: { inc(): void } | undefined;
  private cancelCheckpoints: (() => void) | undefined;

  constructor(
    private readonly options: SnnFilterOptions,
    private readonly emitsScores: boolean,
  ) {
    this.network = new TelemetryNetwork(options);
  }

  init(ctx: ProcessorContext<SnnFilterScoredOutputs>): void {
    this.labels = { processor: ctx.processorName, partition: String(ctx.partition) };
    this.metrics = snnMetrics(ctx.metrics);
    const store = ctx.store<KeyState>(SNN_STATE_STORE);
    this.store = store;
    const unreadable: string[] = [];
    for (const [key, raw] of store.entries()) {
      const parsed = keyStateSchema.safeParse(raw);
      if (!parsed.success) {
        unreadable.push(key);
        continue;
      }
      try {
        this.network.restore(key, parsed.data);
      } catch {
        unreadable.push(key);
      }
    }
    for (const key of unreadable) {
      ctx.log.warn({ key }, "snn-filter: dropping unreadable state for this key; it will warm up again");
      store.delete(key);
    }
    this.metrics.keys.set(this.labels, this.network.keyCount);
    this.eventsCounter = this.metrics.events.labels(this.labels);
    this.cancelCheckpoints = ctx.schedule(this.options.checkpointEveryMs, "stream", () => this.checkpoint());
  }

  process(rec: Rec<TelemetryEvent>, ctx: ProcessorContext<SnnFilterScoredOutputs>): void {
    const metrics = this.requireInit();
    this.eventsCounter?.inc();
    const { ts, source, metric, value } = rec.value;
    const cached = this.slotsBySource.get(source)?.get(metric);
    const key = cached === undefined ? `${source}/${metric}` : this.keyOfSlot[cached]!;
    const known = cached ?? this.network.slotIfKnown(key);
    const verdict = judgeSample(this.network, this.options, source, metric, key, ts, value, known);
    if (verdict.action === "reject") {
      metrics.invalid.inc({ ...this.labels, reason: verdict.reason });
      throw new SpikemeshError(
        "RECORD_INVALID",
        `snn-filter (${ctx.topic}/${ctx.partition}): ${verdict.detail} (ts ${ts})`,
        {
          context: {
            processor: ctx.processorName,
            topic: ctx.topic,
            partition: ctx.partition,
            field: verdict.field,
          },
        },
      );
    }
    if (verdict.action === "ignore") {
      metrics.duplicates.inc(this.labels);
      return;
    }
    const isNewKey = known < 0;
    const slot = isNewKey ? this.network.slotOf(key) : known;
    if (cached === undefined) this.rememberSlot(source, metric, key, slot);
    const neuron = this.network.observeSlot(slot, ts, value);
    this.dirty.add(key);
    if (isNewKey) metrics.keys.set(this.labels, this.network.keyCount);
    if (this.network.didReset) metrics.gapResets.inc(this.labels);
    if (this.emitsScores) {
      ctx.forward("scores", {
        key: source,
        value: { ts, source, metric, value, score: this.network.anomalyScore, isSpike: neuron >= 0 },
        timestampMs: ts,
        headers: {},
      });
    }
    const detection = this.network.detection();
    if (!detection) return;
    metrics.spikes.inc(this.labels);
    ctx.forward("spikes", {
      key: source,
      value: spikeRecord(rec.value, key, detection, ctx.partition),
      timestampMs: ts,
      headers: {},
    });
  }

  close(): void {
    this.cancelCheckpoints?.();
    this.checkpoint();
    // The partition may move to another instance: its key count is no longer this one's to report.
    this.metrics?.keys.remove(this.labels);
  }

  /**
   * Caches a key's slot by source, then metric, so later records find it without building the
   * `source/metric` string (concatenating, then hashing it, was the costliest lookup per record).
   */
  private rememberSlot(source: string, metric: string, key: string, slot: number): void {
    let byMetric = this.slotsBySource.get(source);
    if (byMetric === undefined) {
      byMetric = new Map();
      this.slotsBySource.set(source, byMetric);
    }
    byMetric.set(metric, slot);
    this.keyOfSlot[slot] = key;
  }

  private checkpoint(): void {
    if (!this.store) return;
    for (const key of this.dirty) {
      const state = this.network.snapshot(key);
      if (state) this.store.put(key, state);
    }
    this.dirty.clear();
  }

  private requireInit(): SnnMetrics {
    if (!this.metrics) throw new SpikemeshError("INVARIANT", "snn-filter: process() called before init()");
    return this.metrics;
  }
}
