import { join } from "node:path";
import { EmbeddedTransport } from "../streams/embedded/index.js";
import type { Logger } from "../streams/index.js";
import { RegistryCodec, RegistrySerde, SchemaRegistryServer } from "../streams/serde/index.js";
import type { Transport } from "../streams/transport/transport.js";
import type { SpikemeshConfig } from "./config.js";

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
 * Opens the embedded runtime: the on-disk log in `<dataDir>/log` and, unless `registry.url` names an
 * external one, the embedded schema registry in `<dataDir>/registry` on 127.0.0.1.
 */
export async function openRuntime(
  config: SpikemeshConfig,
  log: Logger,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const dataDir = options.dataDir ?? config.dataDir;
  const transport = new EmbeddedTransport({
    dataDir: join(dataDir, "log"),
    logger: log,
    maxRecordBytes: config.maxRecordBytes,
    maintenanceIntervalMs: 60_000,
  });
  let registry: SchemaRegistryServer | undefined;
  try {
    let url = config.registry.url;
    if (url === undefined) {
      registry = new SchemaRegistryServer({
        dataDir: join(dataDir, "registry"),
        port: config.registry.port,
        log: log.child({ component: "registry" }),
      });
      url = await registry.start();
      log.debug({ url }, "embedded schema registry listening");
    }
    const serde = new RegistrySerde({ url, clientId: config.appId });
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
