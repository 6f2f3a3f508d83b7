import { type LogEvent, recordTypes } from "../../../schemas/index.js";
import {
  type KeyValueStore,
  type Logger,
  type Processor,
  type ProcessorContext,
  type ProcessorSpec,
  type Rec,
  SpikemeshError,
} from "../../../streams/index.js";
import type { SnnFilterOutputs } from "../snn-filter.js";
import { type SnnMetrics, snnMetrics } from "../snn-metrics.js";
import { judgeLine } from "./log-input-rules.js";
import { type LogMetrics, logMetrics } from "./log-metrics.js";
import { LogNetwork } from "./log-network.js";
import { type SnnLogFilterOptions, snnLogFilterOptions } from "./log-options.js";
import { logSpikeRecord } from "./log-spike-record.js";
import {
  logSourceStateSchema,
  MINER_KEY,
  minerHeaderSchema,
  SOURCE_PREFIX,
  TEMPLATE_PREFIX,
  templateStateSchema,
} from "./log-state.js";
import { TemplateMiner, type TemplateState } from "./template-miner.js";

/** Name of the state store holding the miner's templates and each source's counts and neurons. */
export const SNN_LOG_STATE_STORE = "snn-log-state";

/**
 * The SNN log filter: mines each LogEvent's message into a template (TemplateMiner, Drain-style,
 * shared by the sources of a partition), rate-codes the template per source (never-seen templates,
 * templates busier than usual, a source busier than usual: LogNetwork) into three LIF neurons, and
 * emits a SpikeRecord on `spikes` only when one fires; its payload carries the template and the
 * line. Dynamics run on the lines' event time (`ts`): a replay gives the same spikes.
 *
 * Dead-lettered (README.md, "Logs"): an empty source, a blank message, a message over
 * `maxLineBytes` (RECORD_TOO_LARGE), a line more than `allowedLatenessMs` behind its source's
 * newest, a new source beyond `maxSources`. Avro decode failures are dead-lettered by the runner.
 *
 * State (the miner's templates, each source's counts and neurons) is checkpointed to the
 * "snn-log-state" store every `checkpointEveryMs` of stream time and on close, and restored in
 * init(), so a restarted instance mines and counts where the last one stopped.
 */
export const snnLogFilterSpec: ProcessorSpec<LogEvent, SnnFilterOutputs, SnnLogFilterOptions> = {
  name: "snn-log-filter",
  input: recordTypes.LogEvent,
  outputs: { spikes: recordTypes.SpikeRecord },
  stores: [SNN_LOG_STATE_STORE],
  options: snnLogFilterOptions,
  create: (options) => new SnnLogFilter(options),
};

class SnnLogFilter implements Processor<LogEvent, SnnFilterOutputs> {
  private readonly miner: TemplateMiner;
  private readonly network: LogNetwork;
  private readonly dirtyTemplates = new Set<number>();
  private readonly dirtySources = new Set<string>();
  private store: KeyValueStore<unknown> | undefined;
  private metrics: { snn: SnnMetrics; log: LogMetrics } | undefined;
  private labels = { processor: "snn-log-filter", partition: "0" };
  private cancelCheckpoints: (() => void) | undefined;

  constructor(private readonly options: SnnLogFilterOptions) {
    this.miner = new TemplateMiner(options.miner);
    this.network = new LogNetwork(options);
  }

  init(ctx: ProcessorContext<SnnFilterOutputs>): void {
    this.labels = { processor: ctx.processorName, partition: String(ctx.partition) };
    this.metrics = { snn: snnMetrics(ctx.metrics), log: logMetrics(ctx.metrics) };
    this.store = ctx.store<unknown>(SNN_LOG_STATE_STORE);
    this.restore(this.store, ctx.log);
    this.metrics.snn.keys.set(this.labels, this.network.keyCount);
    this.metrics.log.templates.set(this.labels, this.miner.size);
    this.cancelCheckpoints = ctx.schedule(this.options.checkpointEveryMs, "stream", () => this.checkpoint());
  }

  process(rec: Rec<LogEvent>, ctx: ProcessorContext<SnnFilterOutputs>): void {
    const metrics = this.metrics;
    if (!metrics) throw new SpikemeshError("INVARIANT", "snn-log-filter: process() called before init()");
    metrics.snn.events.inc(this.labels);
    const event = rec.value;
    const verdict = judgeLine(this.network, this.options, event);
    if (verdict.action === "reject") {
      metrics.snn.invalid.inc({ ...this.labels, reason: verdict.reason });
      throw new SpikemeshError(
        verdict.code,
        `snn-log-filter (${ctx.topic}/${ctx.partition}): ${verdict.detail} (ts ${event.ts})`,
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
    const mined = this.miner.add(event.message);
    this.dirtyTemplates.add(mined.templateId);
    if (mined.evictedId !== undefined) this.dirtyTemplates.add(mined.evictedId);
    if (mined.isNew) {
      metrics.log.newTemplates.inc(this.labels);
      metrics.log.templates.set(this.labels, this.miner.size);
    }
    const isNewSource = !this.network.hasKey(event.source);
    const neuron = this.network.observe(event.source, event.ts, mined.templateId);
    this.dirtySources.add(event.source);
    if (isNewSource) metrics.snn.keys.set(this.labels, this.network.keyCount);
    const detection = neuron >= 0 ? this.network.detection() : undefined;
    if (!detection) return;
    metrics.snn.spikes.inc(this.labels);
    const line = {
      templateId: mined.templateId,
      template: this.miner.templateOf(mined.templateId) ?? "",
      templateCount: this.miner.countOf(mined.templateId),
    };
    ctx.forward("spikes", {
      key: event.source,
      value: logSpikeRecord(event, line, detection, ctx.partition, this.options.maxPayloadTextChars),
      timestampMs: event.ts,
      headers: {},
    });
  }

  close(): void {
    this.cancelCheckpoints?.();
    this.checkpoint();
    this.metrics?.snn.keys.remove(this.labels);
    this.metrics?.log.templates.remove(this.labels);
  }

  private checkpoint(): void {
    const store = this.store;
    if (!store || (this.dirtyTemplates.size === 0 && this.dirtySources.size === 0)) return;
    store.put(MINER_KEY, this.miner.header());
    for (const id of this.dirtyTemplates) {
      const state = this.miner.snapshotTemplate(id);
      if (state) store.put(`${TEMPLATE_PREFIX}${id}`, state);
      else store.delete(`${TEMPLATE_PREFIX}${id}`);
    }
    for (const source of this.dirtySources) {
      const state = this.network.snapshot(source);
      if (state) store.put(`${SOURCE_PREFIX}${source}`, state);
    }
    this.dirtyTemplates.clear();
    this.dirtySources.clear();
  }

  /**
   * Loads the miner and the sources from the store. Template ids only mean something with the
   * miner that gave them, so when the miner's state cannot be restored (other miner options, an
   * unreadable entry) everything is dropped and mining starts over; an unreadable source alone is
   * dropped by itself and warms up again.
   */
  private restore(store: KeyValueStore<unknown>, log: Logger): void {
    const header = minerHeaderSchema.safeParse(store.get(MINER_KEY));
    const templates: TemplateState[] = [];
    let isMinerReadable = header.success || store.get(MINER_KEY) === undefined;
    for (const [key, raw] of store.entries()) {
      if (!key.startsWith(TEMPLATE_PREFIX)) continue;
      const parsed = templateStateSchema.safeParse(raw);
      if (parsed.success) templates.push(parsed.data);
      else isMinerReadable = false;
    }
    if (header.success && isMinerReadable) {
      try {
        this.miner.restore(header.data, templates);
      } catch (err) {
        log.warn({ err }, "snn-log-filter: cannot restore the template miner");
        isMinerReadable = false;
      }
    }
    if (!isMinerReadable || (!header.success && templates.length > 0)) {
      log.warn("snn-log-filter: dropping the stored templates and sources; mining and counts start over");
      for (const key of [...store.entries()].map(([k]) => k)) store.delete(key);
      return;
    }
    const unreadable: string[] = [];
    for (const [key, raw] of store.entries()) {
      if (!key.startsWith(SOURCE_PREFIX)) continue;
      const parsed = logSourceStateSchema.safeParse(raw);
      try {
        if (!parsed.success) throw parsed.error;
        this.network.restore(key.slice(SOURCE_PREFIX.length), parsed.data);
      } catch {
        unreadable.push(key);
      }
    }
    for (const key of unreadable) {
      log.warn({ key }, "snn-log-filter: dropping unreadable state for this source; it will warm up again");
      store.delete(key);
    }
  }
}
