import type { TelemetryEvent } from "../../schemas/index.js";
import { type Random, seededRandom } from "../../streams/index.js";

/** A labelled incident the generator injects; the demo reports which ones produced escalations. */
export interface Incident {
  name: string;
  sources: string[];
  metric: string;
  startMs: number;
  endMs: number;
}

export interface GeneratorOptions {
  /** Event time of the first sample. Default 2026-01-01T00:00:00Z. */
  startMs?: number;
  /** Simulated span. Default 6 hours. */
  durationMs?: number;
  /** Spacing of samples per series. Default 10 s. */
  stepMs?: number;
  /** Default 6. */
  hosts?: number;
  seed?: number;
}

interface Series {
  source: string;
  metric: string;
  base: number;
  amplitude: number;
  noise: number;
}

const METRICS: ReadonlyArray<Omit<Series, "source">> = [
  { metric: "cpu.util", base: 35, amplitude: 15, noise: 2 },
  { metric: "mem.used", base: 8, amplitude: 1, noise: 0.1 },
  { metric: "disk.write_bytes", base: 20e6, amplitude: 5e6, noise: 1e6 },
  { metric: "net.in_bytes", base: 50e6, amplitude: 20e6, noise: 2e6 },
];

const DAY_MS = 24 * 3600 * 1000;

/**
 * Host telemetry with a daily cycle and noise, plus injected incidents: a disk I/O storm, a CPU
 * saturation, and a network surge on three hosts at once. Deterministic for a seed.
 */
export class TelemetryGenerator {
  readonly incidents: Incident[];
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
  private readonly series: Series[] = [];
  private readonly random: Random;

  constructor(options: GeneratorOptions = {}) {
    this.startMs = options.startMs ?? Date.UTC(2026, 0, 1);
    this.stepMs = options.stepMs ?? 10_000;
    const duration = options.durationMs ?? 6 * 3600 * 1000;
    this.endMs = this.startMs + duration;
    this.random = seededRandom(options.seed ?? 7);
    const hosts = Math.max(3, options.hosts ?? 6);
    for (let h = 1; h <= hosts; h++) {
      for (const m of METRICS) this.series.push({ ...m, source: `host-${h}` });
    }
    const at = (fraction: number) => this.startMs + Math.round(duration * fraction);
    this.incidents = [
      {
        name: "disk I/O storm",
        sources: ["host-3"],
        metric: "disk.write_bytes",
        startMs: at(0.35),
        endMs: at(0.38),
      },
      { name: "CPU saturation", sources: ["host-1"], metric: "cpu.util", startMs: at(0.55), endMs: at(0.6) },
      {
        name: "network surge (correlated)",
        sources: [`host-${hosts - 2}`, `host-${hosts - 1}`, `host-${hosts}`],
        metric: "net.in_bytes",
        startMs: at(0.8),
        endMs: at(0.82),
      },
    ];
  }

  /** Number of events the whole run produces. */
  get totalEvents(): number {
    return Math.floor((this.endMs - this.startMs) / this.stepMs) * this.series.length;
  }

  /** Events in event-time order, `batchSize` at a time. */
  *batches(batchSize = 1000): Generator<TelemetryEvent[]> {
    let batch: TelemetryEvent[] = [];
    for (let t = this.startMs; t < this.endMs; t += this.stepMs) {
      for (const s of this.series) {
        batch.push(this.sample(s, t));
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** One sample of every series at event time `t` (live mode; incidents apply only inside their windows). */
  samplesAt(t: number): TelemetryEvent[] {
    return this.series.map((s) => this.sample(s, t));
  }

  private sample(s: Series, t: number): TelemetryEvent {
    // The daily cycle is relative to the first sample, so a seed gives the same series whatever the start.
    const phase = (2 * Math.PI * ((t - this.startMs) % DAY_MS)) / DAY_MS;
    let value = s.base + s.amplitude * Math.sin(phase) + s.noise * this.gaussian();
    for (const incident of this.incidents) {
      if (incident.metric !== s.metric || !incident.sources.includes(s.source)) continue;
      if (t >= incident.startMs && t < incident.endMs) value = this.incidentValue(s, value);
    }
    if (s.metric === "cpu.util") value = Math.min(100, Math.max(0, value));
    return { ts: t, source: s.source, metric: s.metric, value: round(value), tags: { env: "demo" } };
  }

  private incidentValue(s: Series, normal: number): number {
    switch (s.metric) {
      case "cpu.util":
        return 97 + 2 * this.random.next();
      case "disk.write_bytes":
        return normal * 8;
      default:
        return normal * 4;
    }
  }

  private gaussian(): number {
    const u = 1 - this.random.next();
    const v = this.random.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
