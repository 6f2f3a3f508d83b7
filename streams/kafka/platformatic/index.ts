export { PlatformaticAdmin } from "./platformatic-admin.js";
export { PlatformaticConsumer } from "./platformatic-consumer.js";
export { fromPlatformaticError } from "./platformatic-errors.js";
export { type PlatformaticConsumerSettings, PlatformaticFetcher } from "./platformatic-fetcher.js";
export { PlatformaticProducer, PlatformaticTransaction } from "./platformatic-producer.js";
export { PlatformaticKafkaTransport, type PlatformaticTransportOptions } from "./platformatic-transport.js";
