import { createRequire } from "node:module";
import { Partitioners, type PartitionMetadata } from "kafkajs";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../streams/clock.js";
import { KeyPartitioner, murmur2, partitionForKey, toPositive } from "../../streams/transport/partitioner.js";

// kafkajs's own murmur2 (Long-based port of Kafka's Java Utils.murmur2), as the reference.
const kafkajsMurmur2 = createRequire(import.meta.url)(
  "kafkajs/src/producer/partitioners/default/murmur2.js",
) as (key: Buffer | string) => number;

function metadata(n: number): PartitionMetadata[] {
  return Array.from({ length: n }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
}

describe("Kafka default partitioner", () => {
  const random = seededRandom(20240601);
  const randomKey = (): Buffer => {
    const length = Math.floor(random.next() * 80);
    return Buffer.from(Array.from({ length }, () => Math.floor(random.next() * 256)));
  };

  it("murmur2 matches Kafka's Java test vectors", () => {
    // From Kafka's UtilsTest.testMurmur2.
    const vectors: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [key, hash] of vectors) expect(murmur2(Buffer.from(key))).toBe(hash);
  });

  it("murmur2 matches kafkajs for 20 000 random keys of every length remainder", () => {
    for (let i = 0; i < 20_000; i++) {
      const key = randomKey();
      expect(murmur2(key)).toBe(kafkajsMurmur2(key));
    }
  });

  it("picks the same partition as kafkajs's DefaultPartitioner for keys and partition counts", () => {
    for (let i = 0; i < 5_000; i++) {
      const n = 1 + Math.floor(random.next() * 128);
      const key = i % 2 === 0 ? randomKey() : Buffer.from(`source-${i}`);
      const theirs = Partitioners.DefaultPartitioner()({
        topic: "t",
        partitionMetadata: metadata(n),
        message: { key, value: null },
      });
      expect(partitionForKey(key, n)).toBe(theirs);
      expect(new KeyPartitioner().partition("t", key, n)).toBe(theirs);
    }
  });

  it("toPositive clears the sign bit like Java's Utils.toPositive", () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(12345)).toBe(12345);
  });

  it("sends null keys round-robin per topic and honours explicit partitions", () => {
    const p = new KeyPartitioner();
    expect(Array.from({ length: 6 }, () => p.partition("a", null, 3))).toEqual([0, 1, 2, 0, 1, 2]);
    expect(p.partition("b", null, 3)).toBe(0);
    expect(p.partition("a", Buffer.from("k"), 3, 2)).toBe(2);
  });
});
