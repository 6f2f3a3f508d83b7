/**
 * The Kafka bench's input: seeded, deterministic host telemetry (TelemetryEvents keyed by
 * source), Avro-framed once through the real RegistryCodec, so the raw passthrough and the
 * spikemesh pipeline read byte-identical records.
 */
import { recordTypes, type TelemetryEvent } from "../schemas/index.js";
import { seededRandom } from "../streams/clock.js";
import type { RecordCodec } from "../streams/topology/codec.js";
import type { OutgoingRecord, Producer } from "../streams/transport/transport.js";

export interface WorkloadOptions {
  /** Distinct sources (hosts); each reports every metric once per step. */
  sources: number;
  /** Share of samples (after each key's warm-up) that are anomalies, 0..1. */
  anomalyRate: number;
  seed: number;
}

const METRICS = [
  { metric: "cpu.util", base: 35, noise: 3 },
  { metric: "mem.used", base: 8, noise: 0.2 },
] as const;
const STEP_MS = 1000;
/** The SNN filter trains its statistics on the first samples of a key; no anomalies there. */
const WARMUP_STEPS = 40;

/** One workload record: the encoded value plus what the latency probe needs to match spikes. */
export interface WorkloadRecord {
  key: Buffer;
  value: Buffer;
  source: string;
  ts: number;
}

/**
 * `count` samples, round-robin over sources and metrics, one step of event time per round; about
 * `anomalyRate` of them jump by 15-25 standard deviations (the SNN filter spikes on those).
 * `startStep` continues an earlier call's event time.
 */
export class TelemetryWorkload {
  private readonly random;

  constructor(private readonly options: WorkloadOptions) {
    this.random = seededRandom(options.seed);
  }

  events(count: number, startStep = 0): TelemetryEvent[] {
    const perStep = this.options.sources * METRICS.length;
    const out: TelemetryEvent[] = [];
    for (let i = 0; i < count; i++) {
      const step = startStep + Math.floor(i / perStep);
      const slot = i % perStep;
      const m = METRICS[slot % METRICS.length]!;
      const source = `host-${String(Math.floor(slot / METRICS.length)).padStart(4, "0")}`;
      const gaussian = this.random.next() + this.random.next() + this.random.next() - 1.5;
      const isAnomaly = step >= WARMUP_STEPS && this.random.next() < this.options.anomalyRate;
      const jump = isAnomaly ? (15 + 10 * this.random.next()) * m.noise : 0;
      out.push({
        ts: 1_795_000_000_000 + step * STEP_MS,
        source,
        metric: m.metric,
        value: m.base + gaussian * 2 * m.noise + jump,
        tags: { region: "eu-west-1", env: "bench" },
      });
    }
    return out;
  }

  /** Steps of event time `count` samples span. */
  steps(count: number): number {
    return Math.ceil(count / (this.options.sources * METRICS.length));
  }
}

/** Encodes events for `topic` through the runtime's codec (Confluent wire format). */
export async function encodeEvents(
  codec: RecordCodec,
  topic: string,
  events: readonly TelemetryEvent[],
): Promise<WorkloadRecord[]> {
  const out: WorkloadRecord[] = [];
  for (const e of events) {
    const value = await codec.encode(topic, recordTypes.TelemetryEvent, e);
    out.push({ key: Buffer.from(e.source), value, source: e.source, ts: e.ts });
  }
  return out;
}

/** Produces records to `topic` in sends of `batchSize`, in order. */
export async function produceAll(
  producer: Producer,
  topic: string,
  records: readonly WorkloadRecord[],
  batchSize: number,
): Promise<void> {
  for (let i = 0; i < records.length; i += batchSize) {
    const batch: OutgoingRecord[] = records
      .slice(i, i + batchSize)
      .map((r) => ({ topic, key: r.key, value: r.value, timestampMs: r.ts }));
    await producer.send(batch);
  }
}
