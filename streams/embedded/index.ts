export { DataDirLock } from "./data-dir-lock.js";
export { EmbeddedAdmin } from "./embedded-admin.js";
export { EmbeddedConsumer } from "./embedded-consumer.js";
export { EmbeddedProducer, EmbeddedTransaction } from "./embedded-producer.js";
export {
  EmbeddedTransport,
  type EmbeddedTransportOptions,
  type MaintenanceResult,
} from "./embedded-transport.js";
export type { CleanResult, RetentionPolicy } from "./log-cleaner.js";
export { PartitionLog, type PartitionLogOptions, type ReadCursor, type ReadResult } from "./partition-log.js";
export type { EncodableRecord, EncodedBatch } from "./record-codec.js";
export { segmentFileName } from "./segment.js";
