import kafkajs, { type ITopicConfig, type Admin as KafkaJsAdmin } from "kafkajs";
import { SpikemeshError } from "../errors.js";
import type {
  Admin,
  CleanupPolicy,
  TopicConfig,
  TopicDescription,
  TopicPartitionOffset,
} from "../transport/transport.js";
import { fromKafkaError, hasKafkaErrorType } from "./kafka-errors.js";

// kafkajs is CommonJS and Node's ESM loader does not see this export by name.
const { ConfigResourceTypes } = kafkajs;

export interface KafkaAdminDeps {
  /** The transport's shared kafkajs admin client, connected on first use. */
  client(): Promise<KafkaJsAdmin>;
  /** How long to wait for created topics to get leaders and deleted ones to vanish, in ms. */
  timeoutMs: number;
}

/** Kafka's own topics, left out of `listTopics` as the embedded log has none. */
const INTERNAL_TOPICS = new Set(["__consumer_offsets", "__transaction_state", "__cluster_metadata"]);
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

function configError(message: string, topic: string): SpikemeshError {
  return new SpikemeshError("CONFIG_INVALID", message, { context: { topic } });
}

/** Checks what the broker would reject anyway, with the embedded log's messages. */
function validate(t: TopicConfig): void {
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
}

/**
 * The Transport's TopicConfig as Kafka topic configs. Retention defaults follow the interface
 * (-1: keep forever) rather than the broker's `log.retention.*`, so a topic behaves the same on
 * both runtimes.
 */
function toKafkaTopic(t: TopicConfig): ITopicConfig {
  const configEntries = [
    { name: "cleanup.policy", value: t.cleanupPolicy ?? "delete" },
    { name: "retention.ms", value: String(t.retentionMs ?? -1) },
    { name: "retention.bytes", value: String(t.retentionBytes ?? -1) },
  ];
  if (t.segmentBytes !== undefined)
    configEntries.push({ name: "segment.bytes", value: String(t.segmentBytes) });
  return {
    topic: t.name,
    numPartitions: t.partitions ?? 1,
    replicationFactor: t.replicationFactor ?? 1,
    configEntries,
  };
}

/** Topic and group administration on a Kafka cluster through the kafkajs admin client. */
export class KafkaAdmin implements Admin {
  constructor(private readonly deps: KafkaAdminDeps) {}

  /** Creates missing topics (config errors throw CONFIG_INVALID before any is created) and waits for leaders. */
  async createTopics(topics: TopicConfig[]): Promise<void> {
    for (const t of topics) validate(t);
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

  async describeTopics(names: string[]): Promise<TopicDescription[]> {
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

  async fetchCommittedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
    const admin = await this.deps.client();
    try {
      const result = await admin.fetchOffsets({ groupId, topics: [topic] });
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
