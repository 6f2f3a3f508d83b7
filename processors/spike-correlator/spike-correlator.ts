import { createHash } from "node:crypto";
import type { Counter } from "prom-client";
import { recordTypes, type SpikeRecord } from "../../schemas/index.js";
import {
  counter,
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type ProcessorSpec,
  type Rec,
  SpikemeshError,
} from "../../streams/index.js";
import { type Correlation, type CorrelatorState, SpikeCorrelator } from "./correlator.js";
import { type SpikeCorrelatorOptions, spikeCorrelatorOptions } from "./options.js";

export type SpikeCorrelatorOutputs = { correlated: SpikeRecord };

/** Store holding the correlator's window under the key "window". */
export const CORRELATOR_STORE = "correlator-state";
const WINDOW_KEY = "window";

/**
 * The spike correlator: reads the SNN filter's sensor spikes and, when spikes from `minSources`
 * distinct sources fall within `windowMs` of each other, emits one correlated spike on `correlated`:
 * a SpikeRecord with type REASONING_TRIGGER, key and `source` = the lead source (the strongest spike),
 * `neuron` -1, `intensity` = the strongest spike's, `target_rank` 0 (the router) and payload
 * `{kind: "correlated", metric, sources, metrics, startMs, spikes, totalIntensity}`. The router takes a
 * window holding one as a correlated case (a candidate for the deep tier).
 *
 * It is a separate processor, not part of the filter, because the filter is partitioned by source and
 * never sees other sources. It correlates the spikes its instance sees: give its input one partition
 * (spikes are few) to correlate across all sources. Spikes other than SENSOR_EVENT are ignored, so its
 * output may go back to the `spikes` topic without looping. Runs on event time; the window is
 * checkpointed to the "correlator-state" store on every change.
 */
export const spikeCorrelatorSpec: ProcessorSpec<SpikeRecord, SpikeCorrelatorOutputs, SpikeCorrelatorOptions> =
  {
    name: "spike-correlator",
    input: recordTypes.SpikeRecord,
    outputs: { correlated: recordTypes.SpikeRecord },
    stores: [CORRELATOR_STORE],
    options: spikeCorrelatorOptions,
    create: (options) => new SpikeCorrelatorProcessor(options),
  };

class SpikeCorrelatorProcessor implements Processor<SpikeRecord, SpikeCorrelatorOutputs> {
  private readonly correlator: SpikeCorrelator;
  private store: KeyValueStore<CorrelatorState> | undefined;
  private spikes!: Counter<"outcome">;
  private correlations!: Counter;

  constructor(options: SpikeCorrelatorOptions) {
    this.correlator = new SpikeCorrelator(options);
  }

  init(ctx: ProcessorContext<SpikeCorrelatorOutputs>): void {
    this.spikes = counter(ctx.metrics, {
      name: "spikemesh_correlator_spikes_total",
      help: "Spikes the correlator read, by outcome: held, ignored (not a sensor spike), late",
      labelNames: ["outcome"],
    });
    this.correlations = counter(ctx.metrics, {
      name: "spikemesh_correlator_correlations_total",
      help: "Correlated spikes the correlator emitted",
      labelNames: [],
    });
    this.store = ctx.store<CorrelatorState>(CORRELATOR_STORE);
    const saved = this.store.get(WINDOW_KEY);
    if (saved?.version === 1 && Array.isArray(saved.spikes)) this.correlator.restore(saved);
    else if (saved !== undefined) {
      ctx.log.warn("spike-correlator: dropping unreadable state; the window starts empty");
      this.store.delete(WINDOW_KEY);
    }
  }

  process(rec: Rec<SpikeRecord>, ctx: ProcessorContext<SpikeCorrelatorOutputs>): void {
    const spike = rec.value;
    if (spike.type !== "SENSOR_EVENT") {
      this.spikes.inc({ outcome: "ignored" });
      return;
    }
    if (spike.source === "" || !Number.isFinite(spike.intensity)) {
      throw new SpikemeshError(
        "RECORD_INVALID",
        `spike-correlator (${ctx.topic}/${ctx.partition}): spike at ${spike.timestamp} has ` +
          (spike.source === "" ? "an empty source" : `intensity ${spike.intensity}`),
        { context: { processor: ctx.processorName, topic: ctx.topic, partition: ctx.partition } },
      );
    }
    const correlation = this.correlator.add({
      source: spike.source,
      metric: metricOf(spike.payload),
      timestamp: spike.timestamp,
      intensity: spike.intensity,
    });
    this.spikes.inc({ outcome: this.correlator.lastWasLate ? "late" : "held" });
    if (!this.correlator.lastWasLate) this.store?.put(WINDOW_KEY, this.correlator.snapshot());
    if (!correlation) return;
    this.correlations.inc();
    ctx.forward("correlated", {
      key: correlation.lead,
      value: correlatedSpike(correlation, ctx.partition),
      timestampMs: correlation.timestamp,
      headers: {},
    });
  }
}

/** The spike's metric from its payload, or "" when the payload has none (the correlator needs only the source). */
function metricOf(payload: string): string {
  try {
    const parsed = JSON.parse(payload) as { metric?: unknown };
    return typeof parsed?.metric === "string" ? parsed.metric : "";
  } catch {
    return "";
  }
}

/** The REASONING_TRIGGER spike for a correlation. */
export function correlatedSpike(c: Correlation, partition: number): SpikeRecord {
  const payload = {
    kind: "correlated",
    metric: c.leadMetric === "" ? "correlated" : c.leadMetric,
    sources: c.sources,
    metrics: c.metrics,
    startMs: c.startMs,
    spikes: c.spikes,
    totalIntensity: Number(c.totalIntensity.toPrecision(6)),
  };
  return {
    timestamp: c.timestamp,
    source_rank: partition,
    target_rank: 0,
    type: "REASONING_TRIGGER",
    payload: JSON.stringify(payload),
    source: c.lead,
    neuron: -1,
    intensity: c.maxIntensity,
    traceId: createHash("sha256")
      .update(`${c.sources.join(",")}\n${c.timestamp}`)
      .digest("hex")
      .slice(0, 32),
  };
}
