/**
 * Kafka's default partitioner, bit for bit: murmur2 of the key bytes (seed 0x9747b28c, as in
 * `org.apache.kafka.common.utils.Utils.murmur2`), made positive with `hash & 0x7fffffff`
 * (`Utils.toPositive`), modulo the partition count. Null keys go round-robin per topic.
 * Both transports use it, so a key lands on the same partition on the embedded log and on Kafka.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 of `data`, as a signed 32-bit integer (Java `int`). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Kafka's switch falls through: each remainder adds one more trailing byte.
  const rest = length & 3;
  if (rest === 3) h ^= data[length4 + 2]! << 16;
  if (rest >= 2) h ^= data[length4 + 1]! << 8;
  if (rest >= 1) {
    h ^= data[length4]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's `Utils.toPositive`: clears the sign bit (not the absolute value). */
export function toPositive(hash: number): number {
  return hash & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}

/**
 * Picks partitions for outgoing records: explicit partition first, then murmur2 of the key,
 * then round-robin per topic for null keys (counters start at 0, so runs are reproducible).
 */
export class KeyPartitioner {
  private readonly counters = new Map<string, number>();

  /** Returns a partition in `[0, numPartitions)`; `explicit` is returned unchecked. */
  partition(topic: string, key: Uint8Array | null, numPartitions: number, explicit?: number): number {
    if (explicit !== undefined) return explicit;
    if (key !== null) return partitionForKey(key, numPartitions);
    const next = this.counters.get(topic) ?? 0;
    this.counters.set(topic, (next + 1) & 0x7fffffff);
    return next % numPartitions;
  }
}
