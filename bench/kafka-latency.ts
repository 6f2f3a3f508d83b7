/**
 * End-to-end latency under a paced load: input records are produced at a fixed rate and an
 * observer consumer reads the output topic; each output record is matched to the input it came
 * from by (source, event time) and its latency is the observer's receive time minus the time the
 * input went to the producer. For the pipeline the outputs are spikes (event → spike); for the raw
 * passthrough every record comes out (event → copy), the floor any consume-process-produce hop on
 * this broker and client pays.
 */
import { recordTypes, type SpikeRecord } from "../schemas/index.js";
import type { RecordCodec } from "../streams/topology/codec.js";
import type { Producer, Transport } from "../streams/transport/transport.js";
import type { PassthroughRun } from "./kafka-raw.js";
import { produceAll, type WorkloadRecord } from "./kafka-workload.js";

export interface LatencyOptions {
  transport: Transport;
  codec: RecordCodec;
  input: string;
  output: string;
  /** Outputs are SpikeRecords (pipeline) or copies of the input (raw passthrough). */
  outputKind: "spikes" | "copies";
  /** Produced first, as fast as possible, so the system under test is reading before the clock starts. */
  warmup: readonly WorkloadRecord[];
  paced: readonly WorkloadRecord[];
  ratePerSec: number;
  /** Starts the system under test once the warm-up records are in the input topic. */
  start(): Promise<PassthroughRun>;
}

export interface LatencyStats {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const TICK_MS = 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const matchKey = (source: string, ts: number): string => `${source}|${ts}`;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Produces `records` at `ratePerSec` in ticks of TICK_MS, noting each record's send time. */
async function producePaced(
  producer: Producer,
  topic: string,
  records: readonly WorkloadRecord[],
  ratePerSec: number,
  sentAt: Map<string, number>,
): Promise<void> {
  const perTick = Math.max(1, Math.round((ratePerSec * TICK_MS) / 1000));
  const started = performance.now();
  for (let i = 0, tick = 0; i < records.length; i += perTick, tick++) {
    const due = started + tick * TICK_MS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const batch = records.slice(i, i + perTick);
    const now = performance.now();
    for (const r of batch)
      if (!sentAt.has(matchKey(r.source, r.ts))) sentAt.set(matchKey(r.source, r.ts), now);
    await producer.send(batch.map((r) => ({ topic, key: r.key, value: r.value, timestampMs: r.ts })));
  }
}

export async function measureLatency(o: LatencyOptions): Promise<LatencyStats> {
  const producer = o.transport.producer();
  await produceAll(producer, o.input, o.warmup, 500);
  const run = await o.start();
  const observer = o.transport.consumer({ groupId: `${o.output}.observer`, autoOffsetReset: "earliest" });
  await observer.subscribe([o.output]);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let observing = true;
  const observe = (async () => {
    while (observing) {
      const records = await observer.poll({ maxWaitMs: 100, maxRecords: 1000 });
      const now = performance.now();
      for (const r of records) {
        let key: string;
        if (o.outputKind === "spikes") {
          const spike = (await o.codec.decode(o.output, recordTypes.SpikeRecord, r.value!)) as SpikeRecord;
          key = matchKey(spike.source, spike.timestamp);
        } else {
          key = matchKey(r.key?.toString("utf8") ?? "", r.timestampMs);
        }
        const sent = sentAt.get(key);
        if (sent !== undefined) latencies.push(now - sent);
      }
    }
  })();
  try {
    await run.firstRecordAt;
    while (observer.assignment().length === 0) await sleep(50);
    // Let the warm-up drain so the paced records meet an idle pipeline.
    await sleep(1000);
    await producePaced(producer, o.input, o.paced, o.ratePerSec, sentAt);
    await Promise.race([run.done, sleep(60_000)]);
    await sleep(1000);
  } finally {
    observing = false;
    await observe.catch(() => undefined);
    await observer.close();
    await producer.close();
    await run.stop();
  }
  const sorted = latencies.sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
  };
}
