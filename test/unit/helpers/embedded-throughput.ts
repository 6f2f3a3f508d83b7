/**
 * Quick throughput measurement of the embedded log (not a test, asserts nothing):
 *   node --import tsx test/unit/helpers/embedded-throughput.ts [records=2000000] [batch=1000] [valueBytes=100]
 * Produces `records` records of `valueBytes` random bytes (16-byte keys) in batches of `batch`
 * to a 1-partition topic, then consumes them all with polls of `batch`, and prints records/s.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "../../../streams/clock.js";
import { EmbeddedTransport } from "../../../streams/embedded/index.js";
import type { OutgoingRecord } from "../../../streams/transport/transport.js";

const total = Number(process.argv[2] ?? 2_000_000);
const batchSize = Number(process.argv[3] ?? 1000);
const valueBytes = Number(process.argv[4] ?? 100);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "spikemesh-bench-"));
  const transport = new EmbeddedTransport({ dataDir });
  try {
    await transport.admin().createTopics([{ name: "bench", partitions: 1 }]);
    const random = seededRandom(42);
    const batches: OutgoingRecord[][] = [];
    // A pool of pre-built batches so the measurement is the log, not record generation.
    for (let b = 0; b < 16; b++) {
      const batch: OutgoingRecord[] = [];
      for (let i = 0; i < batchSize; i++) {
        const value = Buffer.alloc(valueBytes);
        for (let j = 0; j < valueBytes; j++) value[j] = Math.floor(random.next() * 256);
        batch.push({
          topic: "bench",
          key: Buffer.from(`source-${(b * batchSize + i) % 5000}`.padEnd(16)),
          value,
        });
      }
      batches.push(batch);
    }
    const producer = transport.producer();
    let t0 = performance.now();
    for (let sent = 0, b = 0; sent < total; sent += batchSize, b++) {
      await producer.send(batches[b % batches.length]!);
    }
    const produceS = (performance.now() - t0) / 1000;
    const consumer = transport.consumer({ groupId: "bench" });
    await consumer.subscribe(["bench"]);
    t0 = performance.now();
    let got = 0;
    let bytes = 0;
    while (got < total) {
      const records = await consumer.poll({ maxRecords: batchSize, maxWaitMs: 1000 });
      got += records.length;
      for (const r of records) bytes += r.value?.length ?? 0;
    }
    const consumeS = (performance.now() - t0) / 1000;
    const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
    console.log(
      `records=${total} batch=${batchSize} valueBytes=${valueBytes} keyBytes=16\n` +
        `produce: ${fmt(total / produceS)} records/s (${produceS.toFixed(2)} s)\n` +
        `consume: ${fmt(got / consumeS)} records/s (${consumeS.toFixed(2)} s, ${fmt(bytes / consumeS / 1e6)} MB/s values)`,
    );
  } finally {
    await transport.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
