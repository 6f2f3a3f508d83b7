import { partitionForKey } from "../../../streams/transport/partitioner.js";
import type { OutgoingRecord, TopicConfig } from "../../../streams/transport/transport.js";

/**
 * The deterministic workload of the kill -9 test, shared by the child that writes it
 * (crash-writer.ts) and the test that checks what survived: every record is a pure function of
 * its round, send and index, so the parent can regenerate exactly what the child wrote.
 */

export const EVENTS = "events";
export const EVENT_PARTITIONS = 4;
export const TX_TOPIC = "tx-out";
export const TX_PARTITIONS = 3;
/** Stand-in for the topic a consume-process-produce job reads; its offset counts transactions. */
export const TX_SOURCE = "tx-src";
export const GROUP = "crash-group";
export const TX_GROUP = "crash-tx-group";
export const TRANSACTIONAL_ID = "crash-writer";

/** Small segments so the log rolls several times per round. */
export const TOPICS: TopicConfig[] = [
  { name: EVENTS, partitions: EVENT_PARTITIONS, segmentBytes: 2 * 1024 * 1024 },
  { name: TX_TOPIC, partitions: TX_PARTITIONS, segmentBytes: 1024 * 1024 },
  { name: TX_SOURCE, partitions: 1 },
];

const BASE_TIMESTAMP_MS = 1_700_000_000_000;
const POOL_BYTES = 1280 * 1024;

/** A 32-bit hash of three integers (murmur3 finaliser over a simple combination). */
function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= Math.imul(c + 0x27d4eb2f, 0x165667b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Pseudo-random bytes every value is a slice of (xorshift32, fixed seed). */
const POOL = (() => {
  const words = new Uint32Array(POOL_BYTES / 4);
  let x = 0x2545f491;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer);
})();

function slice(len: number, seed: number): Buffer {
  const start = seed % (POOL.length - len);
  return POOL.subarray(start, start + len);
}

/**
 * The records of plain send `send` in `round`: mostly 10-49 small records over 64 keys; every
 * eighth send (7, 15, 23, …) four records of 32-64 KiB, one per partition, so it makes four
 * writes of many pages each that a kill can tear.
 */
export function eventRecords(round: number, send: number): OutgoingRecord[] {
  const isBig = send % 8 === 7;
  const count = isBig ? 4 : 10 + (mix(round, send, 0) % 40);
  const out: OutgoingRecord[] = [];
  for (let j = 0; j < count; j++) {
    const h = mix(round, send, j + 1);
    const len = isBig ? 32 * 1024 + (h % (32 * 1024)) : 16 + (h % 1024);
    out.push({
      topic: EVENTS,
      ...(isBig ? { partition: j % EVENT_PARTITIONS } : {}),
      key: Buffer.from(`k${mix(round, send, -j - 1) % 64}`),
      value: slice(len, mix(h, j, send)),
      headers: { round: String(round), send: String(send), j: String(j) },
      timestampMs: BASE_TIMESTAMP_MS + send,
    });
  }
  return out;
}

/** The records of transaction `t` (numbered across rounds): 1-6 records of up to 32 KiB. */
export function transactionRecords(t: number): OutgoingRecord[] {
  const count = 1 + (mix(t, 7, 0) % 6);
  const out: OutgoingRecord[] = [];
  for (let j = 0; j < count; j++) {
    const h = mix(t, 7, j + 1);
    out.push({
      topic: TX_TOPIC,
      key: Buffer.from(`t${h % 16}`),
      value: slice(256 + (h % (32 * 1024)), mix(h, t, j)),
      headers: { t: String(t), j: String(j) },
      timestampMs: BASE_TIMESTAMP_MS + t,
    });
  }
  return out;
}

/** Splits records by the partition Kafka's default partitioner gives their keys, keeping order. */
export function byPartition(records: readonly OutgoingRecord[], partitions: number): OutgoingRecord[][] {
  const out = Array.from({ length: partitions }, (): OutgoingRecord[] => []);
  for (const r of records) {
    const p = r.partition ?? partitionForKey(r.key ?? Buffer.alloc(0), partitions);
    out[p]!.push(r);
  }
  return out;
}
