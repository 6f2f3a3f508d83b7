/**
 * Shared parts of the integration tests on the real broker: KafkaTransports with test timeouts,
 * the embedded schema registry over real HTTP with the real RegistryCodec, runners, reads that wait
 * on conditions with a deadline, and cleanup of every topic a test created (by its unique names).
 */
import { join } from "node:path";
import kafkajs from "kafkajs";
import { inject } from "vitest";
import { recordTypes, type TelemetryEvent } from "../../../schemas/index.js";
import { type KafkaAdmin, KafkaTransport, type KafkaTransportOptions } from "../../../streams/kafka/index.js";
import { type Logger, silentLogger } from "../../../streams/logger.js";
import { RegistryCodec, RegistrySerde, SchemaRegistryServer } from "../../../streams/serde/index.js";
import { TopologyRunner, type TopologyRunnerOptions } from "../../../streams/topology/runner.js";
import type { Topology } from "../../../streams/topology/topology.js";
import type { IncomingRecord, OutgoingRecord, RecordMetadata } from "../../../streams/transport/transport.js";
import { tempDir } from "../../unit/helpers/temp-dir.js";
import { TEST_CLIENT } from "./test-client.js";

// kafkajs is CommonJS and Node's ESM loader does not see these exports by name.
const { AssignerProtocol, Kafka, logLevel } = kafkajs;

/** Longest any read or group probe waits before failing the test. */
export const WAIT_MS = 30_000;

/** Runner settings for tests: small batches, quick retries, no wall ticks in the way. */
export const TEST_RUNNER: Partial<TopologyRunnerOptions> = {
  maxBatchRecords: 100,
  maxWaitMs: 50,
  retryBaseMs: 1,
  retryMaxMs: 4,
  wallTickMs: 60_000,
};

/** Key of the marker records {@link KafkaHarness.readToEnd} appends. */
const END_MARKER = "__spikemesh_test_end__";

export interface GroupMember {
  clientId: string;
  /** Partitions of the topics it was assigned, by topic. */
  assignment: Record<string, number[]>;
}

export interface ReadOptions {
  /** Default true (what a downstream consumer sees); false also shows aborted transactional records. */
  readCommitted?: boolean;
  ms?: number;
}

export interface KafkaHarness {
  readonly brokers: string;
  readonly registryUrl: string;
  readonly codec: RegistryCodec;
  readonly logger: Logger;
  /** The admin of a transport kept for the harness's lifetime. */
  readonly admin: KafkaAdmin;
  /** `<prefix>-<pid>-<time>-<n>`, unique per run and call; close() deletes topics that start with it. */
  name(prefix: string): string;
  /** A KafkaTransport with the test client settings, closed by close(). */
  transport(options?: Partial<KafkaTransportOptions>): KafkaTransport;
  /** A runner on `transport` (default: a fresh transport of its own, as a separate instance would have). */
  runner(
    topology: Topology,
    options?: Partial<TopologyRunnerOptions> & { transport?: KafkaTransport },
  ): TopologyRunner;
  /** Encodes TelemetryEvents with the registry codec and produces them (key = source). */
  produce(topic: string, values: TelemetryEvent[]): Promise<RecordMetadata[]>;
  /** Produces raw records with an idempotent producer. */
  produceRaw(records: OutgoingRecord[]): Promise<RecordMetadata[]>;
  /** Reads `topic` from the start with a fresh group until `done` holds; fails after `ms`. */
  readUntil(
    topic: string,
    done: (records: IncomingRecord[]) => boolean,
    options?: ReadOptions,
  ): Promise<IncomingRecord[]>;
  /**
   * Every record of `topic`, by partition then offset: appends a marker to each partition and reads
   * until every marker is seen (markers left out). With readCommitted the marker is visible only
   * once no transaction before it is open, so this also proves that none is left hanging.
   */
  readToEnd(topic: string, options?: ReadOptions): Promise<IncomingRecord[]>;
  /** Decodes TelemetryEvents and returns their sequence numbers (`value`). */
  seqs(records: IncomingRecord[]): Promise<number[]>;
  /** Members of a consumer group with their assignments, once the group is stable (else []). */
  groupMembers(groupId: string): Promise<GroupMember[]>;
  /** Polls `probe` until it returns a value that is not undefined; fails after `ms` naming `what`. */
  waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms?: number): Promise<T>;
  /** Stops runners, deletes this test's topics, closes transports, the registry and its temp dir. */
  close(): Promise<void>;
}

let nameSeq = 0;

/**
 * `brokers`: another broker than the shared test broker (e.g. one a test starts and restarts itself).
 * `registryUrl`: a running Confluent-compatible registry instead of a fresh embedded one.
 */
export async function kafkaHarness(
  options: { brokers?: string; registryUrl?: string } = {},
): Promise<KafkaHarness> {
  const brokers = options.brokers ?? inject("kafkaBrokers");
  const logger = silentLogger();
  const tmp = await tempDir("spikemesh-it-");
  let registry: SchemaRegistryServer | undefined;
  let registryUrl = options.registryUrl;
  if (registryUrl === undefined) {
    registry = new SchemaRegistryServer({ dataDir: join(tmp.dir, "registry"), port: 0 });
    registryUrl = await registry.start();
  }
  const codec = new RegistryCodec(new RegistrySerde({ url: registryUrl }));
  const stems: string[] = [];
  const transports: KafkaTransport[] = [];
  const runners: TopologyRunner[] = [];
  const raw = new Kafka({ brokers: [brokers], clientId: "spikemesh-test-probe", logLevel: logLevel.NOTHING });
  const rawAdmin = raw.admin();
  let rawAdminConnected: Promise<void> | null = null;

  const open = (options: Partial<KafkaTransportOptions> = {}): KafkaTransport => {
    const t = new KafkaTransport({ brokers: [brokers], logger, ...TEST_CLIENT, ...options });
    transports.push(t);
    return t;
  };
  const main = open({ clientId: "spikemesh-test" });

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, ms = WAIT_MS): Promise<T> => {
    const deadline = performance.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const readUntil = async (
    topic: string,
    done: (records: IncomingRecord[]) => boolean,
    options: ReadOptions = {},
  ): Promise<IncomingRecord[]> => {
    const ms = options.ms ?? WAIT_MS;
    const consumer = main.consumer({
      groupId: h.name("probe"),
      autoOffsetReset: "earliest",
      readCommitted: options.readCommitted ?? true,
    });
    const deadline = performance.now() + ms;
    const records: IncomingRecord[] = [];
    try {
      await consumer.subscribe([topic]);
      while (!done(records)) {
        const left = deadline - performance.now();
        if (left <= 0)
          throw new Error(`timed out after ${ms} ms reading ${topic}: have ${records.length} records`);
        records.push(...(await consumer.poll({ maxRecords: 10_000, maxWaitMs: Math.min(left, 500) })));
      }
    } finally {
      await consumer.close();
    }
    return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  };

  const h: KafkaHarness = {
    brokers,
    registryUrl,
    codec,
    logger,
    admin: main.admin(),
    name(prefix) {
      const stem = `${prefix}-${process.pid}-${Date.now().toString(36)}-${nameSeq++}`;
      stems.push(stem);
      return stem;
    },
    transport: open,
    runner(topology, options = {}) {
      const { transport = open(), ...rest } = options;
      const runner = new TopologyRunner(topology, { transport, codec, logger, ...TEST_RUNNER, ...rest });
      runners.push(runner);
      return runner;
    },
    async produce(topic, values) {
      const records: OutgoingRecord[] = [];
      for (const value of values) {
        records.push({
          topic,
          key: Buffer.from(value.source),
          value: await codec.encode(topic, recordTypes.TelemetryEvent, value),
          timestampMs: value.ts,
        });
      }
      return h.produceRaw(records);
    },
    async produceRaw(records) {
      const producer = main.producer();
      try {
        return await producer.send(records);
      } finally {
        await producer.close();
      }
    },
    readUntil,
    async readToEnd(topic, options = {}) {
      const [description] = await h.admin.describeTopics([topic]);
      const partitions = description!.partitions.map((p) => p.partition);
      await h.produceRaw(
        partitions.map((partition) => ({ topic, partition, key: Buffer.from(END_MARKER), value: null })),
      );
      const isMarker = (r: IncomingRecord) => r.key?.toString() === END_MARKER;
      const records = await readUntil(
        topic,
        (seen) => new Set(seen.filter(isMarker).map((r) => r.partition)).size === partitions.length,
        options,
      );
      return records.filter((r) => !isMarker(r));
    },
    async seqs(records) {
      const out: number[] = [];
      for (const rec of records) {
        const value = (await codec.decode(
          rec.topic,
          recordTypes.TelemetryEvent,
          rec.value!,
        )) as TelemetryEvent;
        out.push(value.value);
      }
      return out;
    },
    async groupMembers(groupId) {
      rawAdminConnected ??= rawAdmin.connect();
      await rawAdminConnected;
      const { groups } = await rawAdmin.describeGroups([groupId]);
      const group = groups[0];
      if (group === undefined || group.state !== "Stable") return [];
      return group.members.map((m) => {
        const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        return { clientId: m.clientId, assignment: decoded?.assignment ?? {} };
      });
    },
    waitFor,
    async close() {
      for (const runner of runners) await runner.stop().catch(() => undefined);
      try {
        const mine = (await h.admin.listTopics()).filter((t) => stems.some((s) => t.startsWith(s)));
        if (mine.length > 0) await h.admin.deleteTopics(mine);
      } finally {
        for (const t of transports) await t.close().catch(() => undefined);
        if (rawAdminConnected !== null) await rawAdmin.disconnect().catch(() => undefined);
        await registry?.close();
        await tmp.remove();
      }
    },
  };
  return h;
}
