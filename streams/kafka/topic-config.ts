import { SpikemeshError } from "../errors.js";
import type { TopicConfig } from "../transport/transport.js";

/** Kafka's own topics, left out of `listTopics` as the embedded log has none. */
export const INTERNAL_TOPICS = new Set(["__consumer_offsets", "__transaction_state", "__cluster_metadata"]);
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * A TopicConfig plus Kafka topic configs passed to the broker as given (`segment.ms`,
 * `min.cleanable.dirty.ratio`, `max.message.bytes`, ...). They win over what the TopicConfig
 * fields set; the broker rejects unknown names and bad values (CONFIG_INVALID).
 */
export interface KafkaTopicConfig extends TopicConfig {
  configs?: Readonly<Record<string, string>>;
}

function configError(message: string, topic: string): SpikemeshError {
  return new SpikemeshError("CONFIG_INVALID", message, { context: { topic } });
}

/** Checks what the broker would reject anyway, with the embedded log's messages (CONFIG_INVALID). */
export function validateTopicConfig(t: KafkaTopicConfig): void {
  if (!TOPIC_NAME.test(t.name) || t.name === "." || t.name === "..") {
    throw configError(`topic name "${t.name}" must be 1-249 characters of [a-zA-Z0-9._-]`, t.name);
  }
  for (const [field, v] of [
    ["partitions", t.partitions ?? 1],
    ["replicationFactor", t.replicationFactor ?? 1],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw configError(`topic ${t.name}: ${field} must be an integer ≥ 1, got ${v}`, t.name);
    }
  }
  if (t.cleanupPolicy !== undefined && t.cleanupPolicy !== "delete" && t.cleanupPolicy !== "compact") {
    throw configError(`topic ${t.name}: cleanupPolicy must be "delete" or "compact"`, t.name);
  }
  for (const [field, v] of [
    ["retentionMs", t.retentionMs ?? -1],
    ["retentionBytes", t.retentionBytes ?? -1],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < -1) {
      throw configError(`topic ${t.name}: ${field} must be -1 or a non-negative integer, got ${v}`, t.name);
    }
  }
  for (const [name, value] of Object.entries(t.configs ?? {})) {
    if (typeof value !== "string") {
      throw configError(`topic ${t.name}: configs["${name}"] must be a string, got ${typeof value}`, t.name);
    }
  }
}

/**
 * The Transport's TopicConfig as Kafka topic configs. Retention defaults follow the interface
 * (-1: keep forever) rather than the broker's `log.retention.*`, so a topic behaves the same on
 * both runtimes.
 */
export function topicConfigEntries(t: KafkaTopicConfig): { name: string; value: string }[] {
  const configs = new Map([
    ["cleanup.policy", t.cleanupPolicy ?? "delete"],
    ["retention.ms", String(t.retentionMs ?? -1)],
    ["retention.bytes", String(t.retentionBytes ?? -1)],
  ]);
  if (t.segmentBytes !== undefined) configs.set("segment.bytes", String(t.segmentBytes));
  for (const [name, value] of Object.entries(t.configs ?? {})) configs.set(name, value);
  return [...configs].map(([name, value]) => ({ name, value }));
}
