import type { Logger } from "../logger.js";
import type { Admin } from "../transport/transport.js";
import type { RunnerMetrics } from "./runner-metrics.js";

/** One consumer group and the topic it reads. */
export interface LaggingGroup {
  group: string;
  topic: string;
}

export interface LagMonitorOptions {
  admin: Admin;
  groups: LaggingGroup[];
  metrics: Pick<RunnerMetrics, "lag">;
  log: Logger;
  /** How often lag is sampled. Default 5000 ms; 0 samples only when `sample()` is called. */
  intervalMs?: number;
}

/**
 * Samples consumer lag per group and partition: the partition's end (high watermark) minus the
 * group's committed offset, or minus the partition's first offset when the group has not committed
 * yet (it starts at "earliest"). Both runtimes answer through the Admin port, so the figure is the
 * same one `kafka-consumer-groups --describe` prints (on Kafka, transaction markers count as
 * records, so a transactional topic shows a lag of one or two at rest). Sampling is periodic rather
 * than per scrape so that a slow broker never slows /metrics down.
 */
export class LagMonitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private isFailing = false;
  private isStopped = false;

  constructor(private readonly opts: LagMonitorOptions) {}

  start(): void {
    const every = this.opts.intervalMs ?? 5000;
    if (every <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      // A sample still in flight (slow broker) is not stacked with another.
      if (!this.running) this.running = this.sample().finally(() => (this.running = null));
    }, every);
    this.timer.unref();
    this.running = this.sample().finally(() => (this.running = null));
  }

  /** Reads end and committed offsets once and sets the lag gauge; failures are logged, not thrown. */
  async sample(): Promise<void> {
    const { admin, groups, metrics } = this.opts;
    try {
      const topics = [...new Set(groups.map((g) => g.topic))];
      const described = new Map((await admin.describeTopics(topics)).map((t) => [t.name, t]));
      for (const { group, topic } of groups) {
        const description = described.get(topic);
        if (!description) continue;
        const committed = new Map(
          (await admin.fetchCommittedOffsets(group, topic)).map((o) => [o.partition, o.offset]),
        );
        for (const p of description.partitions) {
          const from = committed.get(p.partition) ?? p.lowOffset;
          metrics.lag.set({ group, topic, partition: String(p.partition) }, Math.max(0, p.highOffset - from));
        }
      }
      this.isFailing = false;
    } catch (err) {
      // Logged once per run of failures, not every interval, and not while shutting down.
      if (!this.isFailing && !this.isStopped)
        this.opts.log.warn({ err }, "consumer lag sample failed; keeping the last figures");
      this.isFailing = true;
    }
  }

  /**
   * Stops sampling. A sample in flight is waited for at most 1 s: it only sets gauges, and a broker
   * that stopped answering must not hold up the runner's shutdown.
   */
  async stop(): Promise<void> {
    this.isStopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))]);
    clearTimeout(timer);
  }
}
