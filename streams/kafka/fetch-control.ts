import type { Consumer as KafkaJsConsumer } from "kafkajs";
import type { Logger } from "../logger.js";
import type { TopicPartition } from "../transport/transport.js";

const split = (key: string): TopicPartition => {
  const at = key.lastIndexOf("/");
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
};

/**
 * Steers kafkajs's fetching per partition: a partition is paused while the caller paused it or
 * its buffer is full, and fetched from a given offset after a seek. kafkajs forgets pauses and
 * seeks when it restarts a crashed consumer, so every join applies them again.
 */
export class FetchControl {
  private readonly userPaused = new Set<string>();
  private readonly bufferPaused = new Set<string>();
  /** kafkajs accepts pauses and seeks only between `run()` and `disconnect()`. */
  isActive = false;

  constructor(
    private readonly client: KafkaJsConsumer,
    private readonly log: Logger,
  ) {}

  isPausedByUser(key: string): boolean {
    return this.userPaused.has(key);
  }

  pauseByUser(key: string): void {
    this.userPaused.add(key);
    this.apply(key);
  }

  resumeByUser(key: string): void {
    this.userPaused.delete(key);
    this.apply(key);
  }

  /** The partition's buffer is full (true) or low again (false). */
  setBufferFull(key: string, isFull: boolean): void {
    if (isFull === this.bufferPaused.has(key)) return;
    if (isFull) this.bufferPaused.add(key);
    else this.bufferPaused.delete(key);
    this.apply(key);
  }

  isBufferFull(key: string): boolean {
    return this.bufferPaused.has(key);
  }

  /** The next fetch of the partition starts at `offset`. */
  seek(key: string, offset: number): void {
    const tp = split(key);
    try {
      this.client.seek({ ...tp, offset: String(offset) });
    } catch (err) {
      // Only while kafkajs restarts the consumer; the next join seeks again.
      this.log.debug({ err, ...tp }, "seek deferred to the next join");
    }
  }

  /** Tells kafkajs the partition's pause state; `force` sends it even if kafkajs seems to agree. */
  apply(key: string, force = false): void {
    if (!this.isActive) return;
    const tp = split(key);
    const shouldPause = this.userPaused.has(key) || this.bufferPaused.has(key);
    const isPaused = this.client
      .paused()
      .some((p) => p.topic === tp.topic && p.partitions.includes(tp.partition));
    if (shouldPause === isPaused && !force) return;
    const arg = [{ topic: tp.topic, partitions: [tp.partition] }];
    try {
      if (shouldPause) this.client.pause(arg);
      else this.client.resume(arg);
    } catch {
      // The consumer is restarting; the next join applies the pause state again.
    }
  }
}
