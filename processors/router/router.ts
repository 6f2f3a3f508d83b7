import type { Counter } from "prom-client";
import {
  type ReasoningRequest,
  type RouteWeight,
  recordTypes,
  type SpikeRecord,
} from "../../schemas/index.js";
import {
  counter,
  type Processor,
  type ProcessorContext,
  type ProcessorSpec,
  type Rec,
} from "../../streams/index.js";
import {
  type AdmissionLimits,
  admit,
  freshAdmission,
  hasToken,
  isIncidentOpen,
  refill,
  type SourceAdmission,
} from "./admission.js";
import { Catalogue, loadCatalogue } from "./catalogue.js";
import { MODEL_TIERS, type ModelTier, type RouterOptions, routerOptionsSchema } from "./options.js";
import { RULES_ROUTE, requestId, routeId, sampleIndex, tierProbabilities } from "./routing.js";
import {
  buildContext,
  caseSpikes,
  formCases,
  type OpenWindow,
  observedSpikes,
  type RoutingCase,
  readSpike,
  windowStart,
} from "./window.js";

export type RouterOutputs = {
  rules: ReasoningRequest;
  phi2: ReasoningRequest;
  deepseek: ReasoningRequest;
};

type Ctx = ProcessorContext<RouterOutputs>;

const WINDOWS = "windows";
const SOURCES = "sources";

/**
 * Collects spikes per source in tumbling event-time windows; when a window closes (event time
 * passes its end plus grace, or no spike arrived for `idleFlushMs` of wall time) it becomes a case:
 * one source's window, or every window of that start when several sources spiked together
 * (correlated). A case that a catalogue entry matches goes to `rules` (or is dropped when the entry
 * suppresses); any other goes to `phi2` or `deepseek`, sampled with the seeded random source from a
 * softmax over route weights (the `weights` table) with an exploration floor. Correlated cases add
 * `correlationBias` to deepseek's weight. Sources with an open incident (a request less than
 * `incidentCooldownMs` of event time ago) are left out, and each request spends a token of the
 * lead source's rate limit.
 */
class Router implements Processor<SpikeRecord, RouterOutputs> {
  private catalogue: Catalogue;
  private readonly limits: AdmissionLimits;
  private lastRecordWallMs = 0;
  private spikes!: Counter<"outcome">;
  private windows!: Counter<"outcome">;
  private requests!: Counter<"tier" | "route">;

  constructor(private readonly opts: RouterOptions) {
    this.catalogue = new Catalogue(opts.catalogue);
    this.limits = {
      incidentCooldownMs: opts.incidentCooldownMs,
      ratePerMinute: opts.rateLimitPerMinute,
      burst: opts.rateLimitBurst,
    };
  }

  async init(ctx: Ctx): Promise<void> {
    if (this.opts.cataloguePath) {
      const fromFile = await loadCatalogue(this.opts.cataloguePath, ctx.signal);
      this.catalogue = new Catalogue([...this.opts.catalogue, ...fromFile]);
    }
    this.spikes = counter(ctx.metrics, {
      name: "spikemesh_router_spikes_total",
      help: "Spikes the router read, by outcome: windowed, late (folded into the oldest open window), ignored",
      labelNames: ["outcome"],
    });
    this.windows = counter(ctx.metrics, {
      name: "spikemesh_router_windows_total",
      help: "Closed source windows, by outcome: escalated, suppressed, deduped, rate_limited",
      labelNames: ["outcome"],
    });
    this.requests = counter(ctx.metrics, {
      name: "spikemesh_router_requests_total",
      help: "Reasoning requests emitted, by tier and route",
      labelNames: ["tier", "route"],
    });
    // Every label set starts at zero, so rate() also counts each route's first requests (a series
    // that appears with its first increment loses it) and shares are defined before the first one.
    for (const outcome of ["windowed", "late", "ignored"]) this.spikes.inc({ outcome }, 0);
    for (const outcome of ["escalated", "suppressed", "deduped", "rate_limited"])
      this.windows.inc({ outcome }, 0);
    this.requests.inc({ tier: "rules", route: RULES_ROUTE }, 0);
    for (const tier of MODEL_TIERS)
      for (const kind of ["single", "correlated"] as const)
        this.requests.inc({ tier, route: routeId(kind, tier) }, 0);
    this.lastRecordWallMs = ctx.clock.nowMs();
    const idle = this.opts.idleFlushMs;
    if (idle > 0) {
      ctx.schedule(idle, "wall", (nowMs) => {
        if (nowMs - this.lastRecordWallMs >= idle) this.flush(ctx, true);
      });
    }
  }

  process(rec: Rec<SpikeRecord>, ctx: Ctx): void {
    const spike = rec.value;
    // Control feedback spikes describe our own actions; escalating them would loop. They still move
    // event time, so they close windows.
    const reading = spike.type === "CONTROL_FEEDBACK" ? null : readSpike(spike);
    this.lastRecordWallMs = ctx.clock.nowMs();
    this.flush(ctx, false);
    if (reading === null) {
      this.spikes.inc({ outcome: "ignored" });
      return;
    }
    const { windowMs, graceMs, maxSpikesPerWindow } = this.opts;
    const closedUpTo = ctx.streamTimeMs - windowMs - graceMs;
    const earliestOpen = windowStart(closedUpTo, windowMs) + windowMs;
    const own = windowStart(spike.timestamp, windowMs);
    const startMs = Math.max(own, earliestOpen);
    this.spikes.inc({ outcome: startMs === own ? "windowed" : "late" });
    const store = ctx.store<OpenWindow>(WINDOWS);
    const key = `${startMs}|${spike.source}`;
    const window = store.get(key) ?? {
      source: spike.source,
      startMs,
      count: 0,
      lastMs: spike.timestamp,
      spikes: [],
    };
    window.count++;
    window.lastMs = Math.max(window.lastMs, spike.timestamp);
    if (window.spikes.length < maxSpikesPerWindow) window.spikes.push({ spike, reading });
    store.put(key, window);
  }

  /** Turns closed windows (all open ones when `all`) into cases and routes them. */
  private flush(ctx: Ctx, all: boolean): void {
    const { windowMs, graceMs, correlationMinSources } = this.opts;
    const store = ctx.store<OpenWindow>(WINDOWS);
    const closedUpTo = ctx.streamTimeMs - windowMs - graceMs;
    const closed: OpenWindow[] = [];
    for (const [key, w] of [...store.entries()]) {
      if (!all && w.startMs > closedUpTo) continue;
      closed.push(w);
      store.delete(key);
    }
    if (closed.length === 0) return;
    const sources = ctx.store<SourceAdmission>(SOURCES);
    const live = closed.filter((w) => {
      const isOpen = isIncidentOpen(
        sources.get(w.source),
        this.closeTime(ctx, w.startMs, w.lastMs),
        this.limits,
      );
      if (isOpen) this.windows.inc({ outcome: "deduped" });
      return !isOpen;
    });
    for (const c of formCases(live, windowMs, correlationMinSources)) {
      const lastMs = Math.max(...c.windows.map((w) => w.lastMs));
      this.routeCase(ctx, c, this.closeTime(ctx, c.startMs, lastMs));
    }
    this.forgetIdleSources(ctx);
  }

  /** Event time a window is decided at: its end, or earlier when flushed for idleness. */
  private closeTime(ctx: Ctx, startMs: number, lastMs: number): number {
    return Math.min(startMs + this.opts.windowMs, Math.max(ctx.streamTimeMs, lastMs));
  }

  private routeCase(ctx: Ctx, c: RoutingCase, atMs: number): void {
    const matches = this.catalogue.match(observedSpikes(c));
    const decisive = matches[0];
    const windowCount = c.windows.length;
    if (decisive?.suppress) {
      this.windows.inc({ outcome: "suppressed" }, windowCount);
      return;
    }
    const sources = ctx.store<SourceAdmission>(SOURCES);
    const leadState = refill(sources.get(c.lead) ?? freshAdmission(this.limits, atMs), atMs, this.limits);
    if (!hasToken(leadState)) {
      sources.put(c.lead, leadState);
      this.windows.inc({ outcome: "rate_limited" }, windowCount);
      return;
    }
    const choice: { tier: "rules" | ModelTier; route: string; probabilities?: Record<string, number> } =
      decisive ? { tier: "rules", route: RULES_ROUTE } : this.chooseTier(ctx, c);
    const id = requestId(c.lead, c.startMs, choice.tier);
    const request: ReasoningRequest = {
      id,
      ts: atMs,
      tier: choice.tier,
      route: choice.route,
      source: c.lead,
      spikes: caseSpikes(c),
      context: JSON.stringify(buildContext(c, matches, choice.probabilities)),
      deadline: atMs + this.opts.deadlineMs,
      depth: 0,
    };
    ctx.forward(choice.tier, { key: c.lead, value: request, timestampMs: atMs, headers: {} });
    this.requests.inc({ tier: choice.tier, route: choice.route });
    this.windows.inc({ outcome: "escalated" }, windowCount);
    const incident = { requestId: id, tier: choice.tier, openedMs: atMs };
    for (const source of c.sources) {
      const state =
        source === c.lead
          ? leadState
          : refill(sources.get(source) ?? freshAdmission(this.limits, atMs), atMs, this.limits);
      sources.put(source, admit(state, incident, source === c.lead));
    }
  }

  /** Samples a model tier: softmax over (route weight + tier prior + correlation bias) / temperature. */
  private chooseTier(
    ctx: Ctx,
    c: RoutingCase,
  ): { tier: ModelTier; route: string; probabilities: Record<string, number> } {
    const weights = ctx.table<RouteWeight>("weights");
    const logits = MODEL_TIERS.map((tier) => {
      const stored = weights.get(routeId(c.kind, tier))?.weight;
      const weight = stored !== undefined && Number.isFinite(stored) ? stored : this.opts.defaultWeight;
      const bias = c.kind === "correlated" && tier === "deepseek" ? this.opts.correlationBias : 0;
      return weight + this.opts.tierPrior[tier] + bias;
    });
    const probs = tierProbabilities(logits, this.opts.temperature, this.opts.epsilon);
    const tier = MODEL_TIERS[sampleIndex(probs, ctx.random.next())] ?? "phi2";
    const probabilities = Object.fromEntries(
      MODEL_TIERS.map((t, i) => [t, Math.round((probs[i] ?? 0) * 1e4) / 1e4]),
    );
    return { tier, route: routeId(c.kind, tier), probabilities };
  }

  /** Drops admission state that no longer limits anything, so the store stays as small as the active sources. */
  private forgetIdleSources(ctx: Ctx): void {
    const sources = ctx.store<SourceAdmission>(SOURCES);
    const now = ctx.streamTimeMs;
    for (const [source, state] of [...sources.entries()]) {
      if (isIncidentOpen(state, now, this.limits)) continue;
      if (refill(state, now, this.limits).tokens >= this.limits.burst) sources.delete(source);
    }
  }
}

/** The `router` processor: spikes in, ReasoningRequests out to the `rules`, `phi2` and `deepseek` tiers. */
export const routerSpec: ProcessorSpec<SpikeRecord, RouterOutputs, RouterOptions> = {
  name: "router",
  input: recordTypes.SpikeRecord,
  outputs: {
    rules: recordTypes.ReasoningRequest,
    phi2: recordTypes.ReasoningRequest,
    deepseek: recordTypes.ReasoningRequest,
  },
  stores: [WINDOWS, SOURCES],
  tables: { weights: recordTypes.RouteWeight },
  options: routerOptionsSchema,
  create: (opts) => new Router(opts),
};
