import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { agentOptions } from "../../cli/agent/agent-options.js";
import { runHostAgent } from "../../cli/agent/host-agent.js";
import { loadConfig } from "../../cli/config.js";
import { openRuntime, type Runtime } from "../../cli/runtime.js";
import { type LogEvent, type RecordType, recordTypes, type TelemetryEvent } from "../../schemas/index.js";
import { silentLogger } from "../../streams/logger.js";
import { tempDir } from "../unit/helpers/temp-dir.js";
import { type KafkaHarness, kafkaHarness } from "./helpers/kafka-harness.js";

// The host agent on the real broker, as `spikemesh --brokers <b> agent` runs it: the runtime comes
// from the config's kafka.brokers, the agent code is the same as on the embedded log.
describe("host agent on Kafka (real broker)", { timeout: 120_000 }, () => {
  const log = silentLogger();
  let dir: string;
  let remove: () => Promise<void>;
  let runtime: Runtime;
  let h: KafkaHarness;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("spikemesh-kafka-agent-"));
    h = await kafkaHarness();
    runtime = await openRuntime(
      loadConfig({ env: {}, flags: { dataDir: dir, kafka: { brokers: inject("kafkaBrokers") } } }),
      log,
    );
  });
  afterAll(async () => {
    await runtime?.close();
    await h?.close();
    await remove();
  });

  /** Reads a topic with the harness's probe consumer (waits out the group join) until `n` records. */
  async function readAll<T>(
    topic: string,
    type: RecordType<T>,
    n: number,
  ): Promise<{ key: string; value: T }[]> {
    const records = await h.readUntil(topic, (seen) => seen.length >= n, { readCommitted: false });
    return Promise.all(
      records.map(async (r) => ({
        key: r.key?.toString() ?? "",
        value: (await runtime.codec.decode(topic, type, r.value!)) as T,
      })),
    );
  }

  it("produces TelemetryEvents and LogEvents keyed by source to the configured topics", async () => {
    const telemetryTopic = h.name("agent-telemetry");
    const logsTopic = h.name("agent-logs");
    const file = join(dir, "syslog");
    writeFileSync(file, "");
    const totals = await runHostAgent(
      agentOptions.parse({ intervalMs: 200, source: "kafka-host", telemetryTopic, logsTopic, logs: [file] }),
      { transport: runtime.transport, codec: runtime.codec, log, metrics: new Registry() },
      {
        signal: new AbortController().signal,
        maxSamples: 3,
        partitions: 3,
        onSample: (s) => {
          if (s.seq === 0) appendFileSync(file, "kernel: WARNING: something odd\nsecond line\n");
        },
      },
    );
    expect(totals.errors).toBe(0);
    const telemetry = await readAll<TelemetryEvent>(
      telemetryTopic,
      recordTypes.TelemetryEvent,
      totals.telemetryRecords,
    );
    expect(telemetry).toHaveLength(totals.telemetryRecords);
    expect(telemetry.every((r) => r.key === "kafka-host" && r.value.source === "kafka-host")).toBe(true);
    expect(telemetry.some((r) => r.value.metric === "disk.write_bytes_per_s")).toBe(true);
    const logs = await readAll<LogEvent>(logsTopic, recordTypes.LogEvent, 2);
    expect(logs.map((r) => [r.key, r.value.level, r.value.message])).toEqual([
      ["kafka-host", "WARN", "kernel: WARNING: something odd"],
      ["kafka-host", "INFO", "second line"],
    ]);
    const [described] = await runtime.transport.admin().describeTopics([telemetryTopic]);
    expect(described?.partitions).toHaveLength(3);
  });
});
