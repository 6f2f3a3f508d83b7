export {
  type CreateKafkaTransportOptions,
  createKafkaTransport,
  DEFAULT_KAFKA_CLIENT,
  KAFKA_CLIENTS,
  type KafkaClient,
} from "./create-kafka-transport.js";
export { type FetchBufferLimits, FetchBuffers } from "./fetch-buffer.js";
export { KafkaAdmin } from "./kafka-admin.js";
export { KafkaConsumer } from "./kafka-consumer.js";
export { fromKafkaError } from "./kafka-errors.js";
export { type KafkaConsumerSettings, KafkaFeed } from "./kafka-feed.js";
export { KafkaProducer, KafkaTransaction } from "./kafka-producer.js";
export { KafkaTransport, type KafkaTransportOptions } from "./kafka-transport.js";
export { PlatformaticKafkaTransport, type PlatformaticTransportOptions } from "./platformatic/index.js";
export type { KafkaTopicConfig } from "./topic-config.js";
