/**
 * Embedded log produce and consume against a raw baseline: the same key and value bytes, in the
 * same batch sizes, appended to one file with `fs.writeSync` and read back sequentially.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { seededRandom } from "../streams/clock.js";
import { EmbeddedTransport } from "../streams/embedded/index.js";
import type { OutgoingRecord } from "../streams/transport/transport.js";
import { type Suite, type TrialResult, timed } from "./measure.js";

export interface LogBenchOptions {
  /** Parent directory for the per-trial data directories (removed after each trial). */
  tmpRoot: string;
  /** Records produced (and then consumed) per trial. */
  records: number;
  /** Records per `send` / per baseline write, and `maxRecords` per poll. */
  batchSize: number;
  valueBytes: number;
  keyBytes: number;
  /** fdatasync every batch: the transport's `fsync: true` against `fdatasyncSync` per write. */
  fsync: boolean;
}

const TOPIC = "bench";
/** Distinct pre-built batches cycled through, so the measurement is the log, not record generation. */
const POOL_BATCHES = 16;
/** Baseline read size: big sequential reads, as a plain log reader would do. */
const BASELINE_READ_BYTES = 256 * 1024;
/** Baseline frame: u32 key length | key | u32 value length | value. */
const BASELINE_FRAME_OVERHEAD = 8;

interface RecordPool {
  batches: OutgoingRecord[][];
  /** Key plus value bytes of each batch. */
  payloadBytes: number[];
}

/** Pre-built batches of records with `keyBytes`-byte keys (5000 distinct) and random values. */
function recordPool(options: LogBenchOptions): RecordPool {
  const random = seededRandom(42);
  const batches: OutgoingRecord[][] = [];
  for (let b = 0; b < POOL_BATCHES; b++) {
    const batch: OutgoingRecord[] = [];
    for (let i = 0; i < options.batchSize; i++) {
      const value = Buffer.allocUnsafe(options.valueBytes);
      for (let j = 0; j < value.length; j++) value[j] = Math.floor(random.next() * 256);
      const key = Buffer.from(`source-${(b * options.batchSize + i) % 5000}`.padEnd(options.keyBytes));
      batch.push({ topic: TOPIC, key: key.subarray(0, options.keyBytes), value });
    }
    batches.push(batch);
  }
  return { batches, payloadBytes: batches.map((b) => b.reduce((n, r) => n + payloadBytes(r), 0)) };
}

function payloadBytes(r: { key: Buffer | null; value: Buffer | null }): number {
  return (r.key?.length ?? 0) + (r.value?.length ?? 0);
}

/** Produces `records` records through EmbeddedTransport, then consumes the topic with poll/commit. */
async function embeddedTrial(options: LogBenchOptions, pool: RecordPool): Promise<TrialResult> {
  const dataDir = mkdtempSync(join(options.tmpRoot, "embedded-"));
  const transport = new EmbeddedTransport({ dataDir, fsync: options.fsync });
  try {
    await transport.admin().createTopics([{ name: TOPIC, partitions: 1 }]);
    const producer = transport.producer();
    let produced = 0;
    let producedBytes = 0;
    const produceS = await timed(async () => {
      for (let b = 0; produced < options.records; b++) {
        const i = b % pool.batches.length;
        const batch = pool.batches[i]!;
        await producer.send(batch);
        produced += batch.length;
        producedBytes += pool.payloadBytes[i]!;
      }
    });
    const consumer = transport.consumer({ groupId: "bench" });
    await consumer.subscribe([TOPIC]);
    let consumed = 0;
    let consumedBytes = 0;
    const consumeS = await timed(async () => {
      while (consumed < produced) {
        const records = await consumer.poll({ maxRecords: options.batchSize, maxWaitMs: 1000 });
        if (records.length === 0) throw new Error(`embedded consume stalled at ${consumed} of ${produced}`);
        for (const r of records) consumedBytes += payloadBytes(r);
        consumed += records.length;
        const last = records[records.length - 1]!;
        await consumer.commit([{ topic: TOPIC, partition: last.partition, offset: last.offset + 1 }]);
      }
    });
    return {
      produce: { records: produced, bytes: producedBytes, seconds: produceS },
      consume: { records: consumed, bytes: consumedBytes, seconds: consumeS },
    };
  } finally {
    await transport.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Frames each batch into one buffer and appends it with one writeSync; reads it back in big chunks. */
async function baselineTrial(options: LogBenchOptions, pool: RecordPool): Promise<TrialResult> {
  const dir = mkdtempSync(join(options.tmpRoot, "baseline-"));
  const path = join(dir, "log.bin");
  try {
    let produced = 0;
    let producedBytes = 0;
    let fileSize = 0;
    const fd = openSync(path, "w");
    let produceS: number;
    try {
      produceS = await timed(() => {
        for (let b = 0; produced < options.records; b++) {
          const i = b % pool.batches.length;
          const batch = pool.batches[i]!;
          let size = 0;
          for (const r of batch) size += BASELINE_FRAME_OVERHEAD + payloadBytes(r);
          const buf = Buffer.allocUnsafe(size);
          let p = 0;
          for (const r of batch) {
            p = writeBytes(buf, p, r.key!);
            p = writeBytes(buf, p, r.value!);
          }
          producedBytes += pool.payloadBytes[i]!;
          if (writeSync(fd, buf, 0, size, fileSize) !== size) throw new Error("short write");
          if (options.fsync) fdatasyncSync(fd);
          fileSize += size;
          produced += batch.length;
        }
      });
    } finally {
      closeSync(fd);
    }
    let consumed = 0;
    let consumedBytes = 0;
    const rfd = openSync(path, "r");
    let consumeS: number;
    try {
      consumeS = await timed(() => {
        let pos = 0;
        while (pos < fileSize) {
          const chunk = Buffer.allocUnsafe(Math.min(BASELINE_READ_BYTES, fileSize - pos));
          const n = readSync(rfd, chunk, 0, chunk.length, pos);
          let at = 0;
          const records: { key: Buffer; value: Buffer }[] = [];
          for (;;) {
            if (at + 4 > n) break;
            const keyLength = chunk.readUInt32LE(at);
            const valueAt = at + 4 + keyLength;
            if (valueAt + 4 > n) break;
            const valueLength = chunk.readUInt32LE(valueAt);
            const end = valueAt + 4 + valueLength;
            if (end > n) break;
            records.push({ key: chunk.subarray(at + 4, valueAt), value: chunk.subarray(valueAt + 4, end) });
            at = end;
          }
          if (at === 0) throw new Error(`baseline frame at ${pos} does not fit a read`);
          for (const r of records) consumedBytes += r.key.length + r.value.length;
          consumed += records.length;
          pos += at;
        }
      });
    } finally {
      closeSync(rfd);
    }
    if (consumed !== produced) throw new Error(`baseline read ${consumed} of ${produced} records`);
    return {
      produce: { records: produced, bytes: producedBytes, seconds: produceS },
      consume: { records: consumed, bytes: consumedBytes, seconds: consumeS },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeBytes(buf: Buffer, at: number, bytes: Buffer): number {
  buf.writeUInt32LE(bytes.length, at);
  buf.set(bytes, at + 4);
  return at + 4 + bytes.length;
}

/** The suite: cases "produce" and "consume" (only "produce" when fsync is on). */
export function embeddedLogSuite(options: LogBenchOptions): Suite {
  const pool = recordPool(options);
  const suffix = options.fsync ? ", fsync" : "";
  const rename = (t: TrialResult): TrialResult =>
    options.fsync
      ? { [`log produce${suffix}`]: t.produce! }
      : { "log produce": t.produce!, "log consume": t.consume! };
  return {
    cases: options.fsync ? [`log produce${suffix}`] : ["log produce", "log consume"],
    spikemesh: {
      label: `EmbeddedTransport${options.fsync ? " fsync: true" : ""}`,
      trial: async () => rename(await embeddedTrial(options, pool)),
    },
    baseline: {
      label: `fs.writeSync${options.fsync ? " + fdatasync" : ""} / readSync`,
      trial: async () => rename(await baselineTrial(options, pool)),
    },
  };
}
