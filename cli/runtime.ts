import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import { EmbeddedTransport } from "../streams/embedded/index.js";
import { ConfigError, type Logger } from "../streams/index.js";
import { createKafkaTransport, type KafkaTransport } from "../streams/kafka/index.js";
import { RegistryCodec, RegistrySerde, SchemaRegistryServer } from "../streams/serde/index.js";
import type { Transport } from "../streams/transport/transport.js";
import type { KafkaConfig, SpikemeshConfig } from "./config.js";

/** What every command works on: a transport, a registry and the codec over it. */
export interface Runtime {
  readonly transport: Transport;
  readonly serde: RegistrySerde;
  readonly codec: RegistryCodec;
  /** Base URL of the registry in use (embedded or external). */
  readonly registryUrl: string;
  /** Closes the transport, then the embedded registry if one was started. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Overrides config.dataDir (the demo runs in a directory of its own). */
  dataDir?: string;
}

/**
 * Opens the runtime the configuration names: Kafka when `kafka.brokers` is set, else the embedded
 * on-disk log in `<dataDir>/log`. Unless `registry.url` names an external registry, the embedded
 * schema registry runs in this process on 127.0.0.1 with its schemas in `<dataDir>/registry`.
 */
export async function openRuntime(
  config: SpikemeshConfig,
  log: Logger,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const dataDir = options.dataDir ?? config.dataDir;
  const transport: Transport = config.kafka
    ? createKafkaTransport({ ...kafkaOptions(config.kafka, config.appId, log), client: config.kafka.client })
    : new EmbeddedTransport({
        dataDir: join(dataDir, "log"),
        logger: log,
        maxRecordBytes: config.maxRecordBytes,
        maintenanceIntervalMs: 60_000,
      });
  let registry: SchemaRegistryServer | undefined;
  try {
    let url = config.registry.url;
    if (url === undefined) {
      if (config.kafka) {
        log.warn(
          "running on Kafka with this process's embedded schema registry: other processes can only decode these records through the same registry; pass --registry <url> (e.g. one started with `spikemesh registry`) to share one",
        );
      }
      registry = new SchemaRegistryServer({
        dataDir: join(dataDir, "registry"),
        port: config.registry.port,
        log: log.child({ component: "registry" }),
        apiKeys: config.registry.apiKeys,
      });
      url = await registry.start();
      log.debug({ url }, "embedded schema registry listening");
    }
    const apiKey = config.registry.apiKey ?? config.registry.apiKeys[0];
    const serde = new RegistrySerde({
      url,
      clientId: config.appId,
      ...(apiKey === undefined ? {} : { apiKey }),
    });
    const codec = new RegistryCodec(serde, { maxRecordBytes: config.maxRecordBytes });
    return {
      transport,
      serde,
      codec,
      registryUrl: url,
      async close() {
        try {
          await transport.close();
        } finally {
          await registry?.close();
        }
      },
    };
  } catch (err) {
    await transport.close();
    await registry?.close();
    throw err;
  }
}

/** KafkaTransport options from the config; TLS files are read here so a bad path names its field. */
export function kafkaOptions(
  kafka: KafkaConfig,
  appId: string,
  log: Logger,
): ConstructorParameters<typeof KafkaTransport>[0] {
  return {
    brokers: kafka.brokers,
    clientId: kafka.clientId === "spikemesh" ? appId : kafka.clientId,
    ssl: typeof kafka.ssl === "boolean" ? kafka.ssl : tlsOptions(kafka.ssl),
    ...(kafka.sasl ? { sasl: kafka.sasl } : {}),
    connectionTimeoutMs: kafka.connectionTimeoutMs,
    requestTimeoutMs: kafka.requestTimeoutMs,
    sessionTimeoutMs: kafka.sessionTimeoutMs,
    retries: kafka.retries,
    logger: log,
  };
}

function tlsOptions(ssl: Exclude<KafkaConfig["ssl"], boolean>): ConnectionOptions {
  const problems: string[] = [];
  const read = (field: "ca" | "cert" | "key"): string | undefined => {
    const path = ssl[field];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      problems.push(`kafka.ssl.${field}: cannot read ${path}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const ca = read("ca");
  const cert = read("cert");
  const key = read("key");
  if ((cert === undefined) !== (key === undefined) && problems.length === 0) {
    problems.push("kafka.ssl: cert and key go together (mutual TLS needs both)");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    rejectUnauthorized: ssl.rejectUnauthorized,
    ...(ca === undefined ? {} : { ca: [ca] }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(ssl.servername === undefined ? {} : { servername: ssl.servername }),
  };
}
