export { type FetchBufferLimits, FetchBuffers } from "./fetch-buffer.js";
export { KafkaAdmin } from "./kafka-admin.js";
export { KafkaConsumer } from "./kafka-consumer.js";
export { fromKafkaError } from "./kafka-errors.js";
export { type KafkaConsumerSettings, KafkaFeed } from "./kafka-feed.js";
export { KafkaProducer, KafkaTransaction } from "./kafka-producer.js";
export { KafkaTransport, type KafkaTransportOptions } from "./kafka-transport.js";
