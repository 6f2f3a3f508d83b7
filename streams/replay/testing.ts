import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../clock.js";
import { EmbeddedTransport } from "../embedded/index.js";
import { type Logger, silentLogger } from "../logger.js";
import { RegistryCodec, RegistrySerde, SchemaRegistryServer } from "../serde/index.js";
import { waitForDrain } from "../topology/drain.js";
import { readToEnd } from "../topology/partition-reader.js";
import { TopologyRunner } from "../topology/runner.js";
import type { Topology } from "../topology/topology.js";
import type { IncomingRecord, Transport } from "../transport/transport.js";
import { RecordingReader } from "./recording-reader.js";
import { type ReplayOptions, replayRecording } from "./replayer.js";

/** One output record: where it landed, its raw bytes, and its value decoded by the writer's schema. */
export interface OutputRecord extends IncomingRecord {
  decoded: unknown;
}

export interface RunRecordingOptions {
  /** Passed to the replay (topic remapping, topic filter). */
  replay?: Pick<ReplayOptions, "topicMap" | "topics">;
  /** Wait for this too before reading the outputs (e.g. windows that close on a wall-time timer). */
  settled?: (transport: Transport, topology: Topology) => (probeSeq: number) => Promise<boolean>;
  seed?: number;
  /**
   * The processors' wall clock. Default: a replay clock that starts at the recording's first
   * timestamp and advances with real time, so deadlines set in event time (request ts + deadline)
   * mean what they meant when the data was live instead of having expired long ago.
   */
  clock?: Clock;
  logger?: Logger;
  /** Called while the recording is replayed into the runtime, with the share of the file read (0 to 1). */
  onReplayProgress?: (fraction: number) => void;
  /**
   * Runs once the topology has settled and stopped, on the same runtime, before the outputs are
   * read (e.g. publish operator feedback, or read a topic the topology does not write).
   */
  afterRun?: (runtime: {
    transport: Transport;
    serde: RegistrySerde;
    codec: RegistryCodec;
    registryUrl: string;
  }) => Promise<void>;
}

/**
 * For regression tests on recordings: replays `file` into a fresh embedded runtime (temporary data
 * directory, embedded registry), runs `topology` on it until every node has committed everything,
 * and returns every output topic's records by topic, in partition and offset order. The runtime is
 * removed afterwards.
 *
 * @example
 * const out = await runRecording("test/fixtures/recordings/demo-2h.smrec", meshTopology({...}));
 * expect(out.get("spikes")).toHaveLength(42);
 */
export async function runRecording(
  file: string,
  topology: Topology,
  options: RunRecordingOptions = {},
): Promise<Map<string, OutputRecord[]>> {
  const dir = await mkdtemp(join(tmpdir(), "spikemesh-run-recording-"));
  const log = options.logger ?? silentLogger();
  const transport = new EmbeddedTransport({ dataDir: join(dir, "log"), logger: log });
  const registry = new SchemaRegistryServer({ dataDir: join(dir, "registry") });
  try {
    const serde = new RegistrySerde({ url: await registry.start() });
    const codec = new RegistryCodec(serde);
    const onReplayProgress = options.onReplayProgress;
    await replayRecording(file, transport, {
      ...options.replay,
      serde,
      ...(onReplayProgress
        ? { onProgress: (_sent: number, fraction: number) => onReplayProgress(fraction) }
        : {}),
    });
    const clock = options.clock ?? replayClock(file);
    const runner = new TopologyRunner(topology, {
      transport,
      codec,
      logger: log,
      clock,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    });
    await runner.start();
    try {
      const settled = options.settled?.(transport, topology);
      await Promise.race([waitForDrain(transport, topology, settled ? { settled } : {}), runner.crashed]);
    } finally {
      await runner.stop();
    }
    await options.afterRun?.({ transport, serde, codec, registryUrl: serde.url });
    const outputs = new Map<string, OutputRecord[]>();
    const topics = new Set(topology.nodes.flatMap((n) => Object.values(n.outputs)));
    for (const topic of [...topics].sort()) {
      const records: IncomingRecord[] = [];
      await readToEnd(transport, topic, "all", `run-recording-${topic}`, (rec) => records.push(rec));
      records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      const out: OutputRecord[] = [];
      for (const rec of records) {
        out.push({ ...rec, decoded: rec.value === null ? null : await codec.decodeAny(rec.value) });
      }
      outputs.set(topic, out);
    }
    return outputs;
  } finally {
    await transport.close();
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A clock at the recording's first timestamp now, moving with real time from here on. */
export function replayClock(file: string): Clock {
  let first: number | undefined;
  for (const rec of new RecordingReader(file).records()) {
    first = rec.timestampMs;
    break;
  }
  const offset = first === undefined ? 0 : Date.now() - first;
  return { nowMs: () => Date.now() - offset };
}
