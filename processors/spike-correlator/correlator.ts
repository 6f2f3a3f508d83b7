/** One sensor spike as the correlator keeps it. */
export interface HeldSpike {
  source: string;
  metric: string;
  timestamp: number;
  intensity: number;
}

/** A correlated episode: several sources spiked within `windowMs` of each other. */
export interface Correlation {
  /** Event time of the spike that completed the episode. */
  timestamp: number;
  /** Earliest spike of the episode still in the window. */
  startMs: number;
  /** Distinct sources, sorted. */
  sources: string[];
  /** Distinct metrics, sorted. */
  metrics: string[];
  /** Source of the strongest spike (smallest id on ties): keys the correlated spike. */
  lead: string;
  leadMetric: string;
  maxIntensity: number;
  /** Sum of the intensities of the spikes in the window. */
  totalIntensity: number;
  spikes: number;
}

export interface CorrelatorConfig {
  /** Spikes at most this far apart in event time belong together, ms. */
  windowMs: number;
  /** Distinct sources needed for a correlation (≥ 2). */
  minSources: number;
  /** After a correlation, none for the same sources until this much event time has passed, ms. */
  cooldownMs: number;
  /** Spikes kept in the window at most (oldest dropped first), so memory stays bounded. */
  maxSpikes: number;
}

/** Plain-JSON state, for the state store. */
export interface CorrelatorState {
  version: 1;
  spikes: HeldSpike[];
  lastEmitMs: number | null;
  lastSources: string[];
}

/**
 * Sliding event-time window over sensor spikes from every source this instance sees. When a spike
 * brings the number of distinct sources within `windowMs` to `minSources` or more, the window is a
 * correlation. One episode yields one correlation: after emitting, the correlator stays quiet for
 * `cooldownMs` of event time unless the episode grows (a source not in the last correlation joins),
 * which yields an updated correlation. Pure: no records, no stores, event time only, so a replay gives
 * the same correlations.
 */
export class SpikeCorrelator {
  /** True when the last `add` came more than `windowMs` behind the newest spike and was dropped. */
  lastWasLate = false;
  private spikes: HeldSpike[] = [];
  private lastEmitMs = Number.NaN;
  private lastSources = new Set<string>();

  constructor(private readonly config: CorrelatorConfig) {
    if (!(config.windowMs > 0)) throw new RangeError(`SpikeCorrelator: windowMs must be > 0`);
    if (!Number.isInteger(config.minSources) || config.minSources < 2) {
      throw new RangeError(`SpikeCorrelator: minSources must be an integer ≥ 2, got ${config.minSources}`);
    }
  }

  /** Adds a spike; returns the correlation it completes, if any. Spikes may arrive slightly out of order. */
  add(spike: HeldSpike): Correlation | undefined {
    const { windowMs, minSources, cooldownMs, maxSpikes } = this.config;
    const newest = Math.max(spike.timestamp, this.spikes.at(-1)?.timestamp ?? spike.timestamp);
    this.lastWasLate = spike.timestamp < newest - windowMs;
    if (this.lastWasLate) return undefined;
    let at = this.spikes.length;
    while (at > 0 && this.spikes[at - 1]!.timestamp > spike.timestamp) at--;
    this.spikes.splice(at, 0, spike);
    while (this.spikes.length > 0 && this.spikes[0]!.timestamp < newest - windowMs) this.spikes.shift();
    while (this.spikes.length > maxSpikes) this.spikes.shift();
    const sources = new Set(this.spikes.map((s) => s.source));
    if (sources.size < minSources) return undefined;
    const isCooling = newest < this.lastEmitMs + cooldownMs;
    const grows = [...sources].some((s) => !this.lastSources.has(s));
    if (isCooling && !grows) return undefined;
    this.lastEmitMs = newest;
    this.lastSources = isCooling ? new Set([...this.lastSources, ...sources]) : sources;
    return this.describe(newest, sources);
  }

  snapshot(): CorrelatorState {
    return {
      version: 1,
      spikes: this.spikes.map((s) => ({ ...s })),
      lastEmitMs: Number.isNaN(this.lastEmitMs) ? null : this.lastEmitMs,
      lastSources: [...this.lastSources].sort(),
    };
  }

  restore(state: CorrelatorState): void {
    this.spikes = state.spikes.map((s) => ({ ...s })).sort((a, b) => a.timestamp - b.timestamp);
    this.lastEmitMs = state.lastEmitMs ?? Number.NaN;
    this.lastSources = new Set(state.lastSources);
  }

  private describe(timestamp: number, sources: Set<string>): Correlation {
    let lead = this.spikes[0]!;
    let total = 0;
    for (const s of this.spikes) {
      total += s.intensity;
      if (s.intensity > lead.intensity || (s.intensity === lead.intensity && s.source < lead.source))
        lead = s;
    }
    return {
      timestamp,
      startMs: this.spikes[0]!.timestamp,
      sources: [...sources].sort(),
      metrics: [...new Set(this.spikes.map((s) => s.metric))].sort(),
      lead: lead.source,
      leadMetric: lead.metric,
      maxIntensity: lead.intensity,
      totalIntensity: total,
      spikes: this.spikes.length,
    };
  }
}
