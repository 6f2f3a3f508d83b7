import { hostname } from "node:os";
import type { Registry } from "prom-client";
import type { WorkerCapabilities, WorkerStats } from "../../processors/index.js";
import { recordTypes, type WorkerHeartbeat, type WorkerStatus } from "../../schemas/index.js";
import { type Clock, counter, type Logger, systemClock } from "../../streams/index.js";
import type { RecordCodec } from "../../streams/topology/codec.js";
import type { Producer, Transport } from "../../streams/transport/transport.js";
import { CLUSTER_TOPICS, HEARTBEATS_TOPIC } from "./cluster-topology.js";

export interface HeartbeatPublisherOptions {
  transport: Transport;
  codec: RecordCodec;
  workerId: string;
  tier: string;
  capabilities: WorkerCapabilities;
  /** Milliseconds between heartbeats. */
  intervalMs: number;
  stats: WorkerStats;
  log: Logger;
  metrics: Registry;
  clock?: Clock;
}

/**
 * Sends a worker's WorkerHeartbeat to the compacted `workers.heartbeats` topic (key = worker id)
 * every `intervalMs`, with its capabilities and current load, and a LEAVING one when it stops. A
 * failed send is logged and the next one tried on schedule: dispatchers drop a worker only after
 * several missed heartbeats.
 */
export class HeartbeatPublisher {
  private producer: Producer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private sending: Promise<void> = Promise.resolve();
  private readonly host = hostname();
  private readonly sent;

  constructor(private readonly opts: HeartbeatPublisherOptions) {
    this.sent = counter(opts.metrics, {
      name: "spikemesh_worker_heartbeats_total",
      help: "Heartbeats this worker sent, by tier and status: ONLINE, LEAVING, failed",
      labelNames: ["tier", "status"],
    });
    for (const status of ["ONLINE", "LEAVING", "failed"]) this.sent.inc({ tier: opts.tier, status }, 0);
  }

  /** Creates the topic when missing, sends the first heartbeat, then one per interval. */
  async start(): Promise<void> {
    await this.opts.transport.admin().createTopics([HEARTBEATS_TOPIC]);
    this.producer = this.opts.transport.producer({ idempotent: true });
    await this.send("ONLINE");
    this.timer = setInterval(() => {
      this.sending = this.sending.then(() => this.send("ONLINE").catch(() => undefined));
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  /** Stops the schedule; with `leaving`, sends a LEAVING heartbeat so dispatchers move work at once. */
  async stop(leaving: boolean): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sending;
    try {
      if (leaving && this.producer) await this.send("LEAVING");
    } finally {
      await this.producer?.close();
      this.producer = null;
    }
  }

  private async send(status: WorkerStatus): Promise<void> {
    const { capabilities: c, stats, tier, workerId } = this.opts;
    const heartbeat: WorkerHeartbeat = {
      workerId,
      tier,
      ts: (this.opts.clock ?? systemClock).nowMs(),
      seq: ++this.seq,
      status,
      intervalMs: this.opts.intervalMs,
      model: c.model,
      paramsB: c.paramsB,
      memoryGb: c.memoryGb,
      formats: c.formats,
      gpu: c.gpu,
      concurrency: c.concurrency,
      inFlight: stats.inFlight,
      answered: stats.answered,
      host: this.host,
    };
    try {
      const value = await this.opts.codec.encode(
        CLUSTER_TOPICS.heartbeats,
        recordTypes.WorkerHeartbeat,
        heartbeat,
      );
      await this.producer!.send([
        { topic: CLUSTER_TOPICS.heartbeats, key: Buffer.from(workerId), value, timestampMs: heartbeat.ts },
      ]);
      this.sent.inc({ tier, status });
    } catch (err) {
      this.sent.inc({ tier, status: "failed" });
      this.opts.log.warn(
        { err, workerId, seq: heartbeat.seq },
        "heartbeat not sent; trying again next interval",
      );
      if (status === "LEAVING") throw err;
    }
  }
}
