import kafkajs, { type ITopicConfig, type Admin as KafkaJsAdmin } from "kafkajs";
import { isSpikemeshError, SpikemeshError } from "../errors.js";
import type { Admin, CleanupPolicy, TopicDescription, TopicPartitionOffset } from "../transport/transport.js";
import { fromKafkaError, hasKafkaErrorType } from "./kafka-errors.js";
import {
  INTERNAL_TOPICS,
  type KafkaTopicConfig,
  topicConfigEntries,
  validateTopicConfig,
} from "./topic-config.js";

// kafkajs is CommonJS and Node's ESM loader does not see this export by name.
const { ConfigResourceTypes } = kafkajs;

export interface KafkaAdminDeps {
  /** The transport's shared kafkajs admin client, connected on first use. */
  client(): Promise<KafkaJsAdmin>;
  /** How long to wait for created topics to get leaders and deleted ones to vanish, in ms. */
  timeoutMs: number;
}

function toKafkaTopic(t: KafkaTopicConfig): ITopicConfig {
  return {
    topic: t.name,
    numPartitions: t.partitions ?? 1,
    replicationFactor: t.replicationFactor ?? 1,
    configEntries: topicConfigEntries(t),
  };
}

/** Topic and group administration on a Kafka cluster through the kafkajs admin client. */
export class KafkaAdmin implements Admin {
  constructor(private readonly deps: KafkaAdminDeps) {}

  /** Creates missing topics (config errors throw CONFIG_INVALID before any is created) and waits for leaders. */
  /** Also takes {@link KafkaTopicConfig}: extra Kafka topic configs passed through as given. */
  /**
   * Creates the topics that do not exist. Waiting for their leaders can fail while the broker is
   * still finishing an earlier deletion of the same names (UNKNOWN_TOPIC_OR_PARTITION) or moving
   * leadership: such failures are retried, skipping what got created, for up to the admin timeout.
   */
  async createTopics(topics: KafkaTopicConfig[]): Promise<void> {
    for (const t of topics) validateTopicConfig(t);
    const deadline = performance.now() + this.deps.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.createOnce(topics);
      } catch (err) {
        const again =
          hasKafkaErrorType(err, "UNKNOWN_TOPIC_OR_PARTITION") || (isSpikemeshError(err) && err.retriable);
        if (!again || performance.now() >= deadline) {
          throw isSpikemeshError(err)
            ? err
            : fromKafkaError(err, `creating topics ${topics.map((t) => t.name).join(", ")}`);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** attempt)));
      }
    }
  }

  private async createOnce(topics: KafkaTopicConfig[]): Promise<void> {
    const admin = await this.deps.client();
    const existing = new Set(await this.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        topics: missing.map(toKafkaTopic),
        waitForLeaders: true,
        timeout: this.deps.timeoutMs,
      });
    } catch (err) {
      // Another client created it between our list and create: that is what we wanted.
      if (hasKafkaErrorType(err, "TOPIC_ALREADY_EXISTS") && !hasOtherErrors(err)) return;
      if (hasKafkaErrorType(err, "UNKNOWN_TOPIC_OR_PARTITION")) throw err;
      throw fromKafkaError(err, `creating topics ${missing.map((t) => t.name).join(", ")}`);
    }
  }

  async listTopics(): Promise<string[]> {
    const admin = await this.deps.client();
    try {
      return (await admin.listTopics()).filter((name) => !INTERNAL_TOPICS.has(name)).sort();
    } catch (err) {
      throw fromKafkaError(err, "listing topics");
    }
  }

  /**
   * Right after topics are created, partition leadership can still move: retriable errors (such as
   * NOT_LEADER_OR_FOLLOWER) are retried with backoff for up to the admin timeout.
   */
  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    const deadline = performance.now() + this.deps.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.describeOnce(names);
      } catch (err) {
        if (!isSpikemeshError(err) || !err.retriable || performance.now() >= deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** attempt)));
      }
    }
  }

  private async describeOnce(names: string[]): Promise<TopicDescription[]> {
    const admin = await this.deps.client();
    const existing = new Set(await this.listTopics());
    const unknown = names.find((n) => !existing.has(n));
    if (unknown !== undefined) {
      throw new SpikemeshError("TOPIC_UNKNOWN", `topic ${unknown} does not exist`, {
        context: { topic: unknown },
      });
    }
    if (names.length === 0) return [];
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: names.map((name) => ({
          type: ConfigResourceTypes.TOPIC,
          name,
          configNames: ["cleanup.policy", "retention.ms", "retention.bytes"],
        })),
      });
      return await Promise.all(
        names.map(async (name) => {
          const entries = resources.find((r) => r.resourceName === name)?.configEntries ?? [];
          const config = (key: string): string | undefined =>
            entries.find((e) => e.configName === key)?.configValue;
          const offsets = await admin.fetchTopicOffsets(name);
          const policy: CleanupPolicy = (config("cleanup.policy") ?? "delete").includes("compact")
            ? "compact"
            : "delete";
          return {
            name,
            partitions: offsets
              .map((o) => ({ partition: o.partition, lowOffset: Number(o.low), highOffset: Number(o.high) }))
              .sort((a, b) => a.partition - b.partition),
            cleanupPolicy: policy,
            retentionMs: Number(config("retention.ms") ?? -1),
            retentionBytes: Number(config("retention.bytes") ?? -1),
          };
        }),
      );
    } catch (err) {
      throw fromKafkaError(err, `describing topics ${names.join(", ")}`);
    }
  }

  /** Deletes topics; unknown names are ignored. Resolves once the topics are gone from metadata. */
  async deleteTopics(names: string[]): Promise<void> {
    const admin = await this.deps.client();
    const existing = new Set(await this.listTopics());
    const present = names.filter((n) => existing.has(n));
    if (present.length === 0) return;
    try {
      await admin.deleteTopics({ topics: present, timeout: this.deps.timeoutMs });
    } catch (err) {
      if (!hasKafkaErrorType(err, "UNKNOWN_TOPIC_OR_PARTITION")) {
        throw fromKafkaError(err, `deleting topics ${present.join(", ")}`);
      }
    }
    const deadline = performance.now() + this.deps.timeoutMs;
    for (;;) {
      const left = new Set(await this.listTopics());
      if (!present.some((n) => left.has(n))) return;
      if (performance.now() > deadline) {
        throw new SpikemeshError("TIMEOUT", `topics ${present.join(", ")} still listed after deletion`, {
          retriable: true,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Retries errors the broker calls retriable (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS while
   * `__consumer_offsets` is created or moves) for up to the admin timeout: kafkajs's fetchOffsets
   * retries only the coordinator lookup, not the fetch itself.
   */
  async fetchCommittedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
    const admin = await this.deps.client();
    const deadline = performance.now() + this.deps.timeoutMs;
    try {
      let result: Awaited<ReturnType<KafkaJsAdmin["fetchOffsets"]>>;
      for (let attempt = 0; ; attempt++) {
        try {
          result = await admin.fetchOffsets({ groupId, topics: [topic] });
          break;
        } catch (err) {
          if ((err as { retriable?: unknown }).retriable !== true || performance.now() > deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        }
      }
      return result
        .flatMap((t) =>
          t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: Number(p.offset) })),
        )
        .filter((o) => o.offset >= 0)
        .sort((a, b) => a.partition - b.partition);
    } catch (err) {
      throw fromKafkaError(err, `fetching committed offsets of group ${groupId} for ${topic}`, { topic });
    }
  }

  /** Groups the cluster knows: with live members or committed offsets (until they expire). */
  async listGroups(): Promise<string[]> {
    const admin = await this.deps.client();
    try {
      const { groups } = await admin.listGroups();
      return groups.map((g) => g.groupId).sort();
    } catch (err) {
      throw fromKafkaError(err, "listing consumer groups");
    }
  }
}

function hasOtherErrors(err: unknown): boolean {
  const errors = (err as { errors?: { type?: string }[] }).errors;
  return errors?.some((e) => e.type !== "TOPIC_ALREADY_EXISTS") === true;
}
