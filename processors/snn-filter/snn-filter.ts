import { createHash } from "node:crypto";
import { recordTypes, type SpikeRecord, type TelemetryEvent } from "../../schemas/index.js";
import {
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type ProcessorSpec,
  type Rec,
  SpikemeshError,
} from "../../streams/index.js";
import { MAX_ABS_VALUE } from "./decaying-stats.js";
import { keyStateSchema } from "./key-state.js";
import { type SnnFilterOptions, snnFilterOptions } from "./options.js";
import { type InvalidReason, type SnnMetrics, snnMetrics } from "./snn-metrics.js";
import { type Detection, type KeyState, TelemetryNetwork } from "./telemetry-network.js";

export type SnnFilterOutputs = { spikes: SpikeRecord };

/** Name of the state store holding one JSON snapshot per source/metric key. */
export const SNN_STATE_STORE = "snn-state";

/** `target_rank` of emitted spikes: they go to the router, which picks the tier. */
export const ROUTER_RANK = 0;

/**
 * The SNN filter: watches telemetry per `${source}/${metric}` with a small population of leaky
 * integrate-and-fire neurons (see TelemetryNetwork) and emits a SpikeRecord on `spikes` only when a
 * neuron fires; every other event ends here. Dynamics run on the samples' event time (`ts`), so a
 * replay of the same input gives byte-identical spikes.
 *
 * Input rules (processors/snn-filter/README.md has the full list):
 * - dead-lettered as RECORD_INVALID (a non-retriable SpikemeshError; the runner sends it to the DLQ
 *   and goes on, never dropping it): a `value` that is NaN or ±Infinity, a |value| above
 *   MAX_ABS_VALUE (1e100), an empty `source` or `metric`, a `ts` more than `allowedLatenessMs`
 *   behind the newest `ts` of its key;
 * - applied at the key's newest time with Δt = 0 (no decay, no time reversal): a sample that is late
 *   by at most `allowedLatenessMs`, or that shares its key's newest `ts` with a different value;
 * - ignored (counted in spikemesh_snn_duplicate_records_total): an exact repeat of the key's last
 *   sample (same `ts` as the key's newest, same `value`), as a redelivery produces.
 *
 * State is checkpointed per key to the "snn-state" store every `checkpointEveryMs` of stream time
 * (keys that changed since the last checkpoint) and on close, and restored in init(), so a restarted
 * instance resumes where the last one stopped. After a crash the keys resume from their last
 * checkpoint, at most `checkpointEveryMs` behind.
 *
 * Spike fields: `source_rank` = input partition (the emitting instance), `target_rank` = 0 (the
 * router), `neuron` = index in NEURON_ROLES, `intensity` = potential / threshold at firing (≥ 1),
 * `traceId` = 32 hex digits derived from key and `ts`, `payload` = compact JSON
 * `{metric, value, role, z, dz, min, max, mean}` (z of the value, z of its change, and the recent
 * values' min/max/mean), numbers to 6 significant digits.
 */
export const snnFilterSpec: ProcessorSpec<TelemetryEvent, SnnFilterOutputs, SnnFilterOptions> = {
  name: "snn-filter",
  input: recordTypes.TelemetryEvent,
  outputs: { spikes: recordTypes.SpikeRecord },
  stores: [SNN_STATE_STORE],
  options: snnFilterOptions,
  create: (options) => new SnnFilter(options),
};

class SnnFilter implements Processor<TelemetryEvent, SnnFilterOutputs> {
  private readonly network: TelemetryNetwork;
  private readonly dirty = new Set<string>();
  private store: KeyValueStore<KeyState> | undefined;
  private metrics: SnnMetrics | undefined;
  private labels = { processor: "snn-filter", partition: "0" };
  private cancelCheckpoints: (() => void) | undefined;

  constructor(private readonly options: SnnFilterOptions) {
    this.network = new TelemetryNetwork(options);
  }

  init(ctx: ProcessorContext<SnnFilterOutputs>): void {
    this.labels = { processor: ctx.processorName, partition: String(ctx.partition) };
    this.metrics = snnMetrics(ctx.metrics);
    const store = ctx.store<KeyState>(SNN_STATE_STORE);
    this.store = store;
    const unreadable: string[] = [];
    for (const [key, raw] of store.entries()) {
      const parsed = keyStateSchema.safeParse(raw);
      if (parsed.success) this.network.restore(key, parsed.data);
      else unreadable.push(key);
    }
    for (const key of unreadable) {
      ctx.log.warn({ key }, "snn-filter: dropping unreadable state for this key; it will warm up again");
      store.delete(key);
    }
    this.metrics.keys.set(this.labels, this.network.keyCount);
    this.cancelCheckpoints = ctx.schedule(this.options.checkpointEveryMs, "stream", () => this.checkpoint());
  }

  process(rec: Rec<TelemetryEvent>, ctx: ProcessorContext<SnnFilterOutputs>): void {
    const metrics = this.requireInit();
    metrics.events.inc(this.labels);
    const { ts, source, metric, value } = rec.value;
    const key = `${source}/${metric}`;
    this.validate(rec.value, key, ctx);
    if (this.network.isRepeat(key, ts, value)) {
      metrics.duplicates.inc(this.labels);
      return;
    }
    const isNewKey = this.network.lastTimeOf(key) === undefined;
    const detection = this.network.observe(key, ts, value);
    this.dirty.add(key);
    if (isNewKey) metrics.keys.set(this.labels, this.network.keyCount);
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

  private checkpoint(): void {
    if (!this.store) return;
    for (const key of this.dirty) {
      const state = this.network.snapshot(key);
      if (state) this.store.put(key, state);
    }
    this.dirty.clear();
  }

  private validate(event: TelemetryEvent, key: string, ctx: ProcessorContext<SnnFilterOutputs>): void {
    const where = `snn-filter (${ctx.topic}/${ctx.partition})`;
    const context = { processor: ctx.processorName, topic: ctx.topic, partition: ctx.partition };
    if (event.source === "" || event.metric === "") {
      const field = event.source === "" ? "source" : "metric";
      throw this.invalid(
        "empty_field",
        `${where}: ${field} is empty at ts ${event.ts}; producers must set it`,
        {
          ...context,
          field,
        },
      );
    }
    if (!Number.isFinite(event.value)) {
      throw this.invalid(
        "non_finite",
        `${where}: value of ${key} at ts ${event.ts} is ${event.value}; telemetry values must be finite numbers`,
        { ...context, field: "value" },
      );
    }
    if (Math.abs(event.value) > MAX_ABS_VALUE) {
      throw this.invalid(
        "out_of_range",
        `${where}: value of ${key} at ts ${event.ts} is ${event.value}, beyond ±${MAX_ABS_VALUE}; ` +
          "check the producer's units",
        { ...context, field: "value" },
      );
    }
    if (!Number.isFinite(event.ts)) {
      throw this.invalid("non_finite", `${where}: ts of ${key} is ${event.ts}`, { ...context, field: "ts" });
    }
    const last = this.network.lastTimeOf(key);
    if (last !== undefined && event.ts < last - this.options.allowedLatenessMs) {
      throw this.invalid(
        "late",
        `${where}: ${key} at ts ${event.ts} is ${last - event.ts} ms behind its newest sample, more than ` +
          `allowedLatenessMs (${this.options.allowedLatenessMs}); raise allowedLatenessMs to accept it`,
        { ...context, field: "ts" },
      );
    }
  }

  private invalid(
    reason: InvalidReason,
    message: string,
    context: SpikemeshError["context"],
  ): SpikemeshError {
    this.requireInit().invalid.inc({ ...this.labels, reason });
    return new SpikemeshError("RECORD_INVALID", message, { context });
  }

  private requireInit(): SnnMetrics {
    if (!this.metrics) throw new SpikemeshError("INVARIANT", "snn-filter: process() called before init()");
    return this.metrics;
  }
}

function spikeRecord(event: TelemetryEvent, key: string, d: Detection, partition: number): SpikeRecord {
  const payload = {
    metric: event.metric,
    value: compact(event.value),
    role: d.role,
    z: compact(d.score),
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
  return createHash("sha256").update(`${key}\n${tsMs}`).digest("hex").slice(0, 32);
}

function compact(x: number): number | null {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : null;
}
