import { SpikemeshError } from "../errors.js";
import type { Transport } from "../transport/transport.js";
import { KafkaTransport } from "./kafka-transport.js";
import {
  PlatformaticKafkaTransport,
  type PlatformaticTransportOptions,
} from "./platformatic/platformatic-transport.js";

/** The Kafka client libraries spikemesh can run on. */
export const KAFKA_CLIENTS = ["platformatic", "kafkajs"] as const;
export type KafkaClient = (typeof KAFKA_CLIENTS)[number];

/**
 * The default client. kafkajs for now; bench/RESULTS.md and the README's "Kafka" section compare
 * the two side by side.
 */
export const DEFAULT_KAFKA_CLIENT: KafkaClient = "kafkajs";

export interface CreateKafkaTransportOptions extends PlatformaticTransportOptions {
  /** Which client library talks to the brokers. Default {@link DEFAULT_KAFKA_CLIENT}. */
  client?: KafkaClient;
}

/** A Kafka Transport on the chosen client; both pass the same Transport contract. */
export function createKafkaTransport(options: CreateKafkaTransportOptions): Transport {
  const { client = DEFAULT_KAFKA_CLIENT, maxFetchBytes, maxPartitionFetchBytes, ...common } = options;
  switch (client) {
    case "kafkajs":
      return new KafkaTransport(common);
    case "platformatic":
      return new PlatformaticKafkaTransport({
        ...common,
        ...(maxFetchBytes !== undefined ? { maxFetchBytes } : {}),
        ...(maxPartitionFetchBytes !== undefined ? { maxPartitionFetchBytes } : {}),
      });
    default:
      throw new SpikemeshError(
        "CONFIG_INVALID",
        `unknown Kafka client "${String(client)}"; use one of ${KAFKA_CLIENTS.join(", ")}`,
        { context: { field: "client" } },
      );
  }
}
