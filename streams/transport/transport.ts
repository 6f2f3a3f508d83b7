/**
 * The port every runtime implements: the embedded on-disk log and Kafka (kafkajs).
 * Processors never see it; the runner and the CLI do. Offsets follow Kafka: a committed
 * offset is the offset of the next record to read.
 */

/** Header values are UTF-8 strings on our side; the Kafka adapter converts to and from bytes. */
export type Headers = Record<string, string>;

export type CleanupPolicy = "delete" | "compact";

export interface TopicConfig {
  name: string;
  /** Default 1. */
  partitions?: number;
  /** Kafka only; the embedded log has one replica. Default 1. */
  replicationFactor?: number;
  /** Default "delete". */
  cleanupPolicy?: CleanupPolicy;
  /** Delete segments older than this. -1 (default) keeps forever. */
  retentionMs?: number;
  /** Delete oldest segments while a partition is larger than this. -1 (default) keeps everything. */
  retentionBytes?: number;
  /** Roll a new segment file after this many bytes. Default 64 MiB. */
  segmentBytes?: number;
}

export interface PartitionDescription {
  partition: number;
  /** First offset still stored. */
  lowOffset: number;
  /** Offset the next appended record will get (the high watermark). */
  highOffset: number;
}

export interface TopicDescription {
  name: string;
  partitions: PartitionDescription[];
  cleanupPolicy: CleanupPolicy;
  retentionMs: number;
  retentionBytes: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

export interface OutgoingRecord {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Headers;
  /** Event time; defaults to the producer's clock. */
  timestampMs?: number;
  /** Explicit partition; otherwise murmur2(key) like Kafka's default partitioner, round-robin for null keys. */
  partition?: number;
}

export interface RecordMetadata extends TopicPartitionOffset {}

export interface IncomingRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Headers;
  timestampMs: number;
}

export interface Admin {
  /** Creates missing topics; existing ones are left as they are. */
  createTopics(topics: TopicConfig[]): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Throws SpikemeshError TOPIC_UNKNOWN for a missing topic. */
  describeTopics(names: string[]): Promise<TopicDescription[]>;
  deleteTopics(names: string[]): Promise<void>;
  /** Committed offsets of a group for a topic; partitions without a commit are left out. */
  fetchCommittedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]>;
  listGroups(): Promise<string[]>;
}

export interface ProducerOptions {
  /** Kafka idempotent producer. Default true. */
  idempotent?: boolean;
  /** Enables transactions (exactly-once consume-process-produce). */
  transactionalId?: string;
}

export interface Transaction {
  send(records: OutgoingRecord[]): Promise<void>;
  /** Commits the consumer offsets atomically with the records sent in this transaction. */
  sendOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface Producer {
  send(records: OutgoingRecord[]): Promise<RecordMetadata[]>;
  /** Only for producers created with a transactionalId. */
  transaction(): Promise<Transaction>;
  close(): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  /** Where a partition without a committed offset starts. Default "earliest". */
  autoOffsetReset?: "earliest" | "latest";
  /** Only read committed transactional records (Kafka). Default true. */
  readCommitted?: boolean;
}

export interface PollOptions {
  /** Default 500. */
  maxRecords?: number;
  /** How long to wait when nothing is ready. Default 100 ms. */
  maxWaitMs?: number;
  signal?: AbortSignal;
}

export interface RebalanceListener {
  /** Called before partitions are taken away: finish, flush and commit them here. */
  onRevoked?(partitions: TopicPartition[]): void | Promise<void>;
  onAssigned?(partitions: TopicPartition[]): void | Promise<void>;
}

export interface Consumer {
  subscribe(topics: string[], listener?: RebalanceListener): Promise<void>;
  /** Returns records of assigned, unpaused partitions in offset order per partition; [] after maxWaitMs. */
  poll(options?: PollOptions): Promise<IncomingRecord[]>;
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Next poll of this partition starts at `offset`. */
  seek(position: TopicPartitionOffset): void;
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  assignment(): TopicPartition[];
  close(): Promise<void>;
}

export interface Transport {
  readonly kind: "embedded" | "kafka";
  admin(): Admin;
  producer(options?: ProducerOptions): Producer;
  consumer(options: ConsumerOptions): Consumer;
  /** Closes every producer and consumer it created. */
  close(): Promise<void>;
}

export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}
