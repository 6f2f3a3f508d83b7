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
 * The default client: @platformatic/kafka. Measured side by side on one broker (bench/RESULTS.md)
 * its raw consume → produce passthrough ran 2.2× kafkajs's and its end-to-end latency was lower;
 * it is maintained, while kafkajs has had no release since 2023. The README's "Kafka clients and
 * broker versions" section has the details.
 */
export const DEFAULT_KAFKA_CLIENT: KafkaClient = "platformatic";

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
