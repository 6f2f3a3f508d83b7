import type { Registry } from "prom-client";
import {
  type BackendFactory,
  createClusterWorkerSpec,
  type WorkerCapabilities,
  WorkerStats,
} from "../../processors/index.js";
import { type Logger, TopologyRunner, type TopologyRunnerOptions } from "../../streams/index.js";
import type { RecordCodec } from "../../streams/topology/codec.js";
import type { Transport } from "../../streams/transport/transport.js";
import { dispatcherTopology, workerTopology } from "./cluster-topology.js";
import { HeartbeatPublisher } from "./heartbeat-publisher.js";

export interface ClusterWorkerSettings {
  transport: Transport;
  codec: RecordCodec;
  log: Logger;
  metrics: Registry;
  appId: string;
  /** Partitions of the topics this worker creates (the assignments topic bounds its concurrency). */
  partitions: number;
  workerId: string;
  tier: string;
  capabilities: WorkerCapabilities;
  heartbeatMs: number;
  /** The worker's escalation tier options (backend, timeoutMs, ...). */
  options: Record<string, unknown>;
  /** Also run the tier's dispatcher in this process, with these options; absent: no dispatcher. */
  dispatcher?: Record<string, unknown>;
  /** Runner settings (guarantee, batch sizes, seed); transport, codec, logger and metrics are set here. */
  runner?: Partial<TopologyRunnerOptions>;
  /** Tests inject backends; default: built from options. */
  createBackend?: BackendFactory;
}

/**
 * A running tier worker: its topology (and optionally its tier's dispatcher) and its heartbeats.
 * Configuration problems (options, capabilities) throw a ConfigError before anything connects.
 */
export class ClusterWorkerProcess {
  readonly stats = new WorkerStats();
  private readonly runner: TopologyRunner;
  private readonly dispatcher: TopologyRunner | undefined;
  private readonly heartbeats: HeartbeatPublisher;
  private isStarted = false;

  constructor(private readonly s: ClusterWorkerSettings) {
    const base = {
      ...s.runner,
      transport: s.transport,
      codec: s.codec,
      logger: s.log,
      metrics: s.metrics,
    };
    const spec = createClusterWorkerSpec({
      stats: this.stats,
      ...(s.createBackend ? { createBackend: s.createBackend } : {}),
    });
    this.runner = new TopologyRunner(
      workerTopology({
        appId: s.appId,
        partitions: s.partitions,
        workerId: s.workerId,
        tier: s.tier,
        spec,
        options: s.options,
      }),
      base,
    );
    this.dispatcher =
      s.dispatcher === undefined
        ? undefined
        : new TopologyRunner(
            dispatcherTopology({
              appId: s.appId,
              partitions: s.partitions,
              tiers: [{ tier: s.tier, options: s.dispatcher }],
            }),
            base,
          );
    this.heartbeats = new HeartbeatPublisher({
      transport: s.transport,
      codec: s.codec,
      workerId: s.workerId,
      tier: s.tier,
      capabilities: s.capabilities,
      intervalMs: s.heartbeatMs,
      stats: this.stats,
      log: s.log.child({ component: "heartbeats" }),
      metrics: s.metrics,
    });
  }

  /** Rejects when the worker's (or its dispatcher's) topology crashes. */
  get crashed(): Promise<never> {
    return this.dispatcher
      ? Promise.race([this.runner.crashed, this.dispatcher.crashed])
      : this.runner.crashed;
  }

  /** Starts the dispatcher (if any) and the worker, then advertises the worker. */
  async start(): Promise<void> {
    this.isStarted = true;
    await this.dispatcher?.start();
    await this.runner.start();
    await this.heartbeats.start();
    this.s.log.info(
      { workerId: this.s.workerId, tier: this.s.tier, capabilities: this.s.capabilities },
      "worker started",
    );
  }

  /**
   * Stops heartbeats, finishes and commits the requests in flight, then says LEAVING so the
   * dispatcher reassigns what this worker had queued but not answered.
   */
  async stop(): Promise<void> {
    if (!this.isStarted) return;
    this.isStarted = false;
    try {
      await this.runner.stop();
    } finally {
      await this.heartbeats
        .stop(true)
        .catch((err: unknown) =>
          this.s.log.warn(
            { err },
            "could not say LEAVING; dispatchers drop this worker after missed heartbeats",
          ),
        );
      await this.dispatcher?.stop();
    }
  }
}
