import { Registry } from "prom-client";
import { type Clock, systemClock } from "../clock.js";
import { ConfigError } from "../errors.js";
import type { Logger } from "../logger.js";
import { isMetricsDisabled } from "../metrics/metric-factory.js";
import type { Transport } from "../transport/transport.js";
import type { RecordCodec } from "./codec.js";
import { LagMonitor } from "./lag-monitor.js";
import { NodeRunner, type RunnerSettings } from "./node-runner.js";
import { parseOptions } from "./options.js";
import { runnerMetrics } from "./runner-metrics.js";
import { groupId, nodeName, type Topology, topologyTopics, validateTopology } from "./topology.js";

export type Guarantee = "at_least_once" | "exactly_once";

export interface TopologyRunnerOptions {
  transport: Transport;
  codec: RecordCodec;
  logger: Logger;
  /** Injected so processors never read Date.now(). Default: the system clock. */
  clock?: Clock;
  /** Metrics registry shared by the runner and processors. Default: a fresh registry. */
  metrics?: Registry;
  /** Seed of the processors' random sources. Default 42. */
  seed?: number;
  /** Default "at_least_once". exactly_once sends outputs and offsets in one transaction per batch. */
  guarantee?: Guarantee;
  /** Records per processed batch. Default 500. */
  maxBatchRecords?: number;
  /** Default 100 ms. */
  maxWaitMs?: number;
  /** Per-partition queue size that pauses the partition (backpressure). Default 5000. */
  maxQueuedRecords?: number;
  /** Retries of a retriable failure before the record is dead-lettered. Default 3. */
  maxRetries?: number;
  /** Default 100 ms; doubles per attempt with jitter up to retryMaxMs (default 5000 ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Default 100 ms. */
  wallTickMs?: number;
  /**
   * How long a node keeps reconnecting after transport failures (a broker restart, a lost
   * coordinator) before it crashes; uncommitted records are read again after each reconnection.
   * 0 crashes on the first failure. Default 300 000 ms.
   */
  reconnectWithinMs?: number;
  /** How often consumer lag per group and partition is sampled for `spikemesh_consumer_lag_records`. Default 5000 ms; 0 turns it off. */
  lagIntervalMs?: number;
}

/**
 * Runs a topology on a transport: creates its topics, validates every node's options (all problems
 * at once, before connecting), starts a NodeRunner per node, and stops them gracefully.
 */
export class TopologyRunner {
  readonly metrics: Registry;
  private readonly nodes: NodeRunner[] = [];
  private readonly lag: LagMonitor;
  private started = false;

  constructor(
    private readonly topology: Topology,
    private readonly opts: TopologyRunnerOptions,
  ) {
    this.metrics = opts.metrics ?? new Registry();
    const problems = validateTopology(topology);
    const parsed: unknown[] = [];
    topology.nodes.forEach((node, i) => {
      try {
        parsed.push(parseOptions(node.spec.options, node.options, `nodes[${i}] (${nodeName(node)}).options`));
      } catch (err) {
        if (err instanceof ConfigError) problems.push(...err.problems);
        else throw err;
      }
    });
    if (problems.length > 0) throw new ConfigError(problems);
    const settings: RunnerSettings = {
      maxBatchRecords: opts.maxBatchRecords ?? 500,
      maxWaitMs: opts.maxWaitMs ?? 100,
      maxQueuedRecords: opts.maxQueuedRecords ?? 5000,
      maxRetries: opts.maxRetries ?? 3,
      retryBaseMs: opts.retryBaseMs ?? 100,
      retryMaxMs: opts.retryMaxMs ?? 5000,
      wallTickMs: opts.wallTickMs ?? 100,
      reconnectWithinMs: opts.reconnectWithinMs ?? 300_000,
      exactlyOnce: opts.guarantee === "exactly_once",
      // On Kafka, at-least-once, a batch's send and commit overlap the next batch's processing. The
      // embedded runtime publishes one batch after another: with overlap, two partitions' outputs
      // to one topic interleave by I/O timing, and replays must stay byte-identical.
      overlapPublish: opts.guarantee !== "exactly_once" && opts.transport.kind === "kafka",
    };
    const deps = {
      transport: opts.transport,
      codec: opts.codec,
      logger: opts.logger,
      clock: opts.clock ?? systemClock,
      metrics: this.metrics,
      runnerMetrics: runnerMetrics(this.metrics),
      seed: opts.seed ?? 42,
    };
    topology.nodes.forEach((node, i) => {
      this.nodes.push(new NodeRunner(topology.appId, node, parsed[i], deps, settings));
    });
    this.lag = new LagMonitor({
      admin: opts.transport.admin(),
      groups: topology.nodes.map((node) => ({ group: groupId(topology.appId, node), topic: node.input })),
      metrics: deps.runnerMetrics,
      log: opts.logger,
      intervalMs: isMetricsDisabled(this.metrics) ? 0 : (opts.lagIntervalMs ?? 5000),
    });
  }

  /** Creates missing topics and starts every node. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.opts.transport.admin().createTopics(topologyTopics(this.topology));
      for (const node of this.nodes) await node.start();
      this.lag.start();
    } catch (err) {
      // Nothing may keep running (or keep the process alive) after a failed start.
      await this.stop().catch((stopErr: unknown) =>
        this.opts.logger.warn({ err: stopErr }, "stopping after a failed start also failed"),
      );
      throw err;
    }
    this.opts.logger.info(
      { appId: this.topology.appId, nodes: this.nodes.map((n) => n.name) },
      "topology started",
    );
  }

  /** Rejects as soon as any node crashes (an unexpected processor error). */
  get crashed(): Promise<never> {
    return Promise.race(this.nodes.map((n) => n.crash));
  }

  /** Finishes in-flight records, closes processors, commits; safe to call twice. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.lag.stop();
    for (const node of this.nodes) await node.stop();
    this.opts.logger.info({ appId: this.topology.appId }, "topology stopped");
  }
}
