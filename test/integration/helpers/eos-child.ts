/**
 * An exactly-once processor in its own process, for kafka-exactly-once.test.ts (not a test itself):
 *   node --import <tsx loader> eos-child.ts <brokers> <registryUrl> <appId> <input> <output> [hangAfter]
 * Runs the echo topology (input → output) on Kafka with guarantee exactly_once and prints
 * "processed <n>" every 5000 records. With `hangAfter`, the first transaction that sends records
 * once that many have been processed prints "open <n>" and never commits: its records are on the
 * broker, its offsets are not, and the parent SIGKILLs the process right then. SIGTERM stops the
 * runner gracefully; the process prints "stopped" and exits 0.
 */
import { KafkaTransport } from "../../../streams/kafka/index.js";
import { silentLogger } from "../../../streams/logger.js";
import { RegistryCodec, RegistrySerde } from "../../../streams/serde/index.js";
import { TopologyRunner } from "../../../streams/topology/runner.js";
import type {
  ConsumerOptions,
  Producer,
  ProducerOptions,
  Transaction,
  Transport,
} from "../../../streams/transport/transport.js";
import { echoSpec } from "../../unit/runner-harness.js";
import { TEST_CLIENT } from "./test-client.js";

const [brokers, registryUrl, appId, input, output, hangAfterText] = process.argv.slice(2);
if (!brokers || !registryUrl || !appId || !input || !output) {
  console.error("usage: eos-child.ts <brokers> <registryUrl> <appId> <input> <output> [hangAfter]");
  process.exit(2);
}
const hangAfter = hangAfterText === undefined ? Number.POSITIVE_INFINITY : Number(hangAfterText);
let processed = 0;
let hasHung = false;

/** The Kafka transport, with one transaction left open after its send once `hangAfter` is reached. */
class HangingTransport implements Transport {
  readonly kind = "kafka" as const;

  constructor(private readonly inner: KafkaTransport) {}

  admin() {
    return this.inner.admin();
  }

  consumer(options: ConsumerOptions) {
    return this.inner.consumer(options);
  }

  close() {
    return this.inner.close();
  }

  producer(options?: ProducerOptions): Producer {
    const producer = this.inner.producer(options);
    if (options?.transactionalId === undefined) return producer;
    return {
      send: (records) => producer.send(records),
      close: () => producer.close(),
      async transaction(): Promise<Transaction> {
        const tx = await producer.transaction();
        return {
          async send(records) {
            await tx.send(records);
            if (hasHung || processed < hangAfter || records.length === 0) return;
            hasHung = true;
            process.stdout.write(`open ${processed}\n`);
            await new Promise(() => undefined);
          },
          sendOffsets: (group, offsets) => tx.sendOffsets(group, offsets),
          commit: () => tx.commit(),
          abort: () => tx.abort(),
        };
      },
    };
  }
}

const kafka = new KafkaTransport({ brokers: [brokers], clientId: "spikemesh-eos-child", ...TEST_CLIENT });
const runner = new TopologyRunner(
  {
    appId,
    defaultPartitions: 4,
    nodes: [
      {
        spec: echoSpec(() => {
          if (++processed % 5000 === 0) process.stdout.write(`processed ${processed}\n`);
        }),
        input,
        outputs: { out: output },
      },
    ],
  },
  {
    transport: new HangingTransport(kafka),
    codec: new RegistryCodec(new RegistrySerde({ url: registryUrl })),
    logger: silentLogger(),
    guarantee: "exactly_once",
    maxBatchRecords: 500,
    maxWaitMs: 50,
  },
);

async function shutdown(): Promise<void> {
  try {
    await runner.stop();
    await kafka.close();
    process.stdout.write("stopped\n");
    process.exit(0);
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
}
process.once("SIGTERM", () => void shutdown());

runner.crashed.catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
await runner.start();
process.stdout.write("started\n");
