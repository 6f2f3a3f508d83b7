import type { Admin, TopicConfig, TopicDescription, TopicPartitionOffset } from "../transport/transport.js";
import type { GroupCoordinator } from "./group-coordinator.js";
import type { OffsetStore } from "./offset-store.js";
import { resolveTopicConfig, type TopicRegistry } from "./topic-registry.js";

export interface AdminDeps {
  registry: TopicRegistry;
  offsets: OffsetStore;
  coordinator: GroupCoordinator;
  assertOpen(): void;
}

/** Topic and group administration of the embedded log; every call is synchronous underneath. */
export class EmbeddedAdmin implements Admin {
  constructor(private readonly deps: AdminDeps) {}

  /** Creates missing topics (config errors throw CONFIG_INVALID before any is created). */
  async createTopics(topics: TopicConfig[]): Promise<void> {
    this.deps.assertOpen();
    for (const t of topics) resolveTopicConfig(t);
    let created = false;
    for (const t of topics) created = this.deps.registry.create(t) || created;
    if (created) this.deps.coordinator.topicsChanged();
  }

  async listTopics(): Promise<string[]> {
    this.deps.assertOpen();
    return this.deps.registry.names();
  }

  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    this.deps.assertOpen();
    return names.map((name) => {
      const { config, partitions } = this.deps.registry.require(name);
      return {
        name,
        partitions: partitions.map((p) => ({
          partition: p.partition,
          lowOffset: p.lowOffset,
          highOffset: p.highOffset,
        })),
        cleanupPolicy: config.cleanupPolicy,
        retentionMs: config.retentionMs,
        retentionBytes: config.retentionBytes,
      };
    });
  }

  /** Deletes topics with their files and committed offsets; unknown names are ignored. */
  async deleteTopics(names: string[]): Promise<void> {
    this.deps.assertOpen();
    let deleted = false;
    for (const name of names) {
      if (this.deps.registry.delete(name)) {
        this.deps.offsets.forgetTopic(name);
        deleted = true;
      }
    }
    if (deleted) this.deps.coordinator.topicsChanged();
  }

  async fetchCommittedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
    this.deps.assertOpen();
    return this.deps.offsets.committed(groupId, topic);
  }

  /** Groups with committed offsets or live members, sorted. */
  async listGroups(): Promise<string[]> {
    this.deps.assertOpen();
    return [...new Set([...this.deps.offsets.groupIds(), ...this.deps.coordinator.activeGroups()])].sort();
  }
}
