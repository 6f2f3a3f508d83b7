import { ConfigResourceTypes, ListOffsetTimestamps, type Admin as PltAdmin } from "@platformatic/kafka";
import { SpikemeshError } from "../../errors.js";
import type {
  Admin,
  CleanupPolicy,
  TopicDescription,
  TopicPartitionOffset,
} from "../../transport/transport.js";
import {
  INTERNAL_TOPICS,
  type KafkaTopicConfig,
  topicConfigEntries,
  validateTopicConfig,
} from "../topic-config.js";
import { fromPlatformaticError, hasProtocolError } from "./platformatic-errors.js";

export interface PlatformaticAdminDeps {
  /** The transport's shared admin client. */
  client: PltAdmin;
  /** How long to wait for created topics to get leaders and deleted ones to vanish, in ms. */
  timeoutMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Topic and group administration through the @platformatic/kafka admin client. */
export class PlatformaticAdmin implements Admin {
  constructor(private readonly deps: PlatformaticAdminDeps) {}

  /**
   * Creates missing topics (config errors throw CONFIG_INVALID before any is created) and waits for
   * leaders. Extra Kafka topic configs (`configs`) go to the broker as given.
   */
  async createTopics(topics: KafkaTopicConfig[]): Promise<void> {
    for (const t of topics) validateTopicConfig(t);
    const existing = new Set(await this.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    // One request per topic: the client applies one partition count and config list to a whole request.
    for (const t of missing) {
      try {
        await this.deps.client.createTopics({
          topics: [t.name],
          partitions: t.partitions ?? 1,
          replicas: t.replicationFactor ?? 1,
          configs: topicConfigEntries(t),
        });
      } catch (err) {
        // Another client created it between our list and create: that is what we wanted.
        if (hasProtocolError(err, "TOPIC_ALREADY_EXISTS")) continue;
        throw fromPlatformaticError(err, `creating topic ${t.name}`, { topic: t.name });
      }
    }
    await this.waitForLeaders(missing.map((t) => t.name));
  }

  async listTopics(): Promise<string[]> {
    try {
      const names = await this.deps.client.listTopics({ includeInternals: false });
      return names.filter((name) => !INTERNAL_TOPICS.has(name)).sort();
    } catch (err) {
      throw fromPlatformaticError(err, "listing topics");
    }
  }

  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    const existing = new Set(await this.listTopics());
    const unknown = names.find((n) => !existing.has(n));
    if (unknown !== undefined) {
      throw new SpikemeshError("TOPIC_UNKNOWN", `topic ${unknown} does not exist`, {
        context: { topic: unknown },
      });
    }
    if (names.length === 0) return [];
    const admin = this.deps.client;
    try {
      const [configs, metadata] = await Promise.all([
        admin.describeConfigs({
          resources: names.map((resourceName) => ({
            resourceType: ConfigResourceTypes.TOPIC,
            resourceName,
            configurationKeys: ["cleanup.policy", "retention.ms", "retention.bytes"],
          })),
        }),
        admin.metadata({ topics: names, forceUpdate: true }),
      ]);
      const request = (timestamp: bigint) =>
        names.map((name) => ({
          name,
          partitions: Array.from({ length: metadata.topics.get(name)?.partitionsCount ?? 0 }, (_, i) => ({
            partitionIndex: i,
            timestamp,
          })),
        }));
      const [low, high] = await Promise.all([
        admin.listOffsets({ topics: request(ListOffsetTimestamps.EARLIEST) }),
        admin.listOffsets({ topics: request(ListOffsetTimestamps.LATEST) }),
      ]);
      const offsetOf = (list: typeof low, topic: string, partition: number): number =>
        Number(
          list.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition)
            ?.offset ?? 0n,
        );
      return names.map((name) => {
        const entries = configs.find((c) => c.resourceName === name)?.configs ?? [];
        const config = (key: string): string | undefined =>
          entries.find((e) => e.name === key)?.value ?? undefined;
        const policy: CleanupPolicy = (config("cleanup.policy") ?? "delete").includes("compact")
          ? "compact"
          : "delete";
        const count = metadata.topics.get(name)?.partitionsCount ?? 0;
        return {
          name,
          partitions: Array.from({ length: count }, (_, partition) => ({
            partition,
            lowOffset: offsetOf(low, name, partition),
            highOffset: offsetOf(high, name, partition),
          })),
          cleanupPolicy: policy,
          retentionMs: Number(config("retention.ms") ?? -1),
          retentionBytes: Number(config("retention.bytes") ?? -1),
        };
      });
    } catch (err) {
      throw fromPlatformaticError(err, `describing topics ${names.join(", ")}`);
    }
  }

  /** Deletes topics; unknown names are ignored. Resolves once the topics are gone from metadata. */
  async deleteTopics(names: string[]): Promise<void> {
    const existing = new Set(await this.listTopics());
    const present = names.filter((n) => existing.has(n));
    if (present.length === 0) return;
    try {
      await this.deps.client.deleteTopics({ topics: present });
    } catch (err) {
      if (!hasProtocolError(err, "UNKNOWN_TOPIC_OR_PARTITION")) {
        throw fromPlatformaticError(err, `deleting topics ${present.join(", ")}`);
      }
    }
    this.deps.client.clearMetadata();
    const deadline = performance.now() + this.deps.timeoutMs;
    for (;;) {
      const left = new Set(await this.listTopics());
      if (!present.some((n) => left.has(n))) return;
      if (performance.now() > deadline) {
        throw new SpikemeshError("TIMEOUT", `topics ${present.join(", ")} still listed after deletion`, {
          retriable: true,
        });
      }
      await sleep(50);
    }
  }

  async fetchCommittedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
    try {
      const groups = await this.deps.client.listConsumerGroupOffsets({ groups: [groupId] });
      return groups
        .filter((g) => g.groupId === groupId)
        .flatMap((g) => g.topics.filter((t) => t.name === topic))
        .flatMap((t) =>
          t.partitions.map((p) => ({
            topic,
            partition: p.partitionIndex,
            offset: Number(p.committedOffset),
          })),
        )
        .filter((o) => o.offset >= 0)
        .sort((a, b) => a.partition - b.partition);
    } catch (err) {
      throw fromPlatformaticError(err, `fetching committed offsets of group ${groupId} for ${topic}`, {
        topic,
      });
    }
  }

  /** Groups the cluster knows: with live members or committed offsets (until they expire). */
  async listGroups(): Promise<string[]> {
    try {
      const groups = await this.deps.client.listGroups();
      return [...groups.keys()].sort();
    } catch (err) {
      throw fromPlatformaticError(err, "listing consumer groups");
    }
  }

  /** Created topics are usable once metadata lists a leader for every partition. */
  private async waitForLeaders(names: string[]): Promise<void> {
    const deadline = performance.now() + this.deps.timeoutMs;
    for (;;) {
      try {
        const metadata = await this.deps.client.metadata({ topics: names, forceUpdate: true });
        const ready = names.every((name) => {
          const topic = metadata.topics.get(name);
          return (
            topic !== undefined && topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0)
          );
        });
        if (ready) return;
      } catch (err) {
        if (
          !hasProtocolError(err, "UNKNOWN_TOPIC_OR_PARTITION") &&
          !hasProtocolError(err, "LEADER_NOT_AVAILABLE")
        ) {
          throw fromPlatformaticError(err, `waiting for leaders of ${names.join(", ")}`);
        }
      }
      if (performance.now() > deadline) {
        throw new SpikemeshError("TIMEOUT", `topics ${names.join(", ")} have no leaders after creation`, {
          retriable: true,
        });
      }
      await sleep(50);
    }
  }
}
