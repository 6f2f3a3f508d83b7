import { ASSIGNED_WORKER_HEADER } from "../../processors/index.js";
import { type ReasoningRequest, type ReasoningResult, recordTypes } from "../../schemas/index.js";
import type { Logger } from "../../streams/index.js";
import type { RecordCodec } from "../../streams/topology/codec.js";
import type { Consumer, IncomingRecord, Producer, Transport } from "../../streams/transport/transport.js";
import { CLUSTER_TOPICS } from "../cluster/cluster-topology.js";

/** One step of a job's progress, as the SSE stream sends it. */
export type JobEvent =
  | { event: "queued"; ts: number; jobId: string; tier: string; topic: string }
  | { event: "assigned"; ts: number; jobId: string; workerId: string }
  | { event: "answered"; ts: number; jobId: string; ok: boolean; result: ReasoningResult };

interface Job {
  readonly id: string;
  readonly events: JobEvent[];
  readonly listeners: Set<(event: JobEvent) => void>;
}

export interface JobTrackerOptions {
  transport: Transport;
  codec: RecordCodec;
  log: Logger;
  /** Tiers jobs may go to; their assignments topics are followed. */
  tiers: readonly string[];
  /** Partitions of topics the tracker creates when missing. */
  partitions: number;
  /** Jobs remembered; the oldest are forgotten first. */
  maxJobs: number;
  nowMs: () => number;
}

/**
 * Submits jobs as ReasoningRequests on `escalations.<tier>` and follows their progress: an
 * assignment to a worker on `workers.<tier>.assignments` (again on reassignment), then the result
 * on `reasoning.results`. It reads those topics from where they ended when it started, with a
 * private consumer that never commits.
 */
export class JobTracker {
  private readonly jobs = new Map<string, Job>();
  private readonly abort = new AbortController();
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private loop: Promise<void> | null = null;

  constructor(private readonly opts: JobTrackerOptions) {}

  async start(): Promise<void> {
    const { transport, tiers, partitions } = this.opts;
    const topics = [
      CLUSTER_TOPICS.results,
      ...tiers.flatMap((t) => [CLUSTER_TOPICS.escalations(t), CLUSTER_TOPICS.assignments(t)]),
    ];
    const admin = transport.admin();
    await admin.createTopics(topics.map((name) => ({ name, partitions })));
    const followed = [CLUSTER_TOPICS.results, ...tiers.map((t) => CLUSTER_TOPICS.assignments(t))];
    const descriptions = await admin.describeTopics(followed);
    this.consumer = transport.consumer({
      groupId: `spikemesh-serve-${process.pid}-${Date.now()}`,
      autoOffsetReset: "latest",
    });
    await this.consumer.subscribe(followed);
    // Start exactly at the current ends (deferred until assignment), so nothing produced after
    // start() returns can be missed whatever "latest" resolves to later.
    for (const d of descriptions) {
      for (const p of d.partitions)
        this.consumer.seek({ topic: d.name, partition: p.partition, offset: p.highOffset });
    }
    this.producer = transport.producer({ idempotent: true });
    this.loop = this.follow();
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => undefined);
    await this.consumer?.close();
    await this.producer?.close();
    for (const job of this.jobs.values()) job.listeners.clear();
  }

  /** Produces the request and starts tracking it; resolves once it is on the topic. */
  async submit(request: ReasoningRequest): Promise<JobEvent> {
    const topic = CLUSTER_TOPICS.escalations(request.tier);
    const job: Job = { id: request.id, events: [], listeners: new Set() };
    this.jobs.set(job.id, job);
    while (this.jobs.size > this.opts.maxJobs) this.jobs.delete(this.jobs.keys().next().value!);
    await this.producer!.send([
      {
        topic,
        key: Buffer.from(request.source),
        value: await this.opts.codec.encode(topic, recordTypes.ReasoningRequest, request),
        timestampMs: request.ts,
      },
    ]);
    const queued: JobEvent = {
      event: "queued",
      ts: this.opts.nowMs(),
      jobId: job.id,
      tier: request.tier,
      topic,
    };
    // Progress read before the send returned (a fast worker) stays after "queued".
    job.events.unshift(queued);
    for (const listener of job.listeners) listener(queued);
    return queued;
  }

  /** The job's progress so far; undefined for an unknown (or forgotten) job. */
  events(jobId: string): readonly JobEvent[] | undefined {
    return this.jobs.get(jobId)?.events;
  }

  /** Calls `listener` with each new event of the job; returns the unsubscribe function. */
  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void {
    const job = this.jobs.get(jobId);
    if (!job) return () => undefined;
    job.listeners.add(listener);
    return () => job.listeners.delete(listener);
  }

  private async follow(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let batch: IncomingRecord[];
      try {
        batch = await this.consumer!.poll({ maxRecords: 1_000, maxWaitMs: 200, signal });
      } catch (err) {
        if (signal.aborted) return;
        this.opts.log.warn({ err }, "following job progress failed; retrying");
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const rec of batch) await this.apply(rec);
    }
  }

  private async apply(rec: IncomingRecord): Promise<void> {
    if (rec.value === null) return;
    try {
      if (rec.topic === CLUSTER_TOPICS.results) {
        const result = (await this.opts.codec.decode(
          rec.topic,
          recordTypes.ReasoningResult,
          rec.value,
        )) as ReasoningResult;
        const job = this.jobs.get(result.id);
        if (!job || job.events.some((e) => e.event === "answered")) return;
        this.emit(job, {
          event: "answered",
          ts: this.opts.nowMs(),
          jobId: job.id,
          ok: result.error === null,
          result,
        });
        return;
      }
      const workerId = rec.headers[ASSIGNED_WORKER_HEADER];
      if (workerId === undefined) return;
      const request = (await this.opts.codec.decode(
        rec.topic,
        recordTypes.ReasoningRequest,
        rec.value,
      )) as ReasoningRequest;
      const job = this.jobs.get(request.id);
      if (!job || job.events.some((e) => e.event === "answered")) return;
      this.emit(job, { event: "assigned", ts: this.opts.nowMs(), jobId: job.id, workerId });
    } catch (err) {
      this.opts.log.debug(
        { err, topic: rec.topic, offset: rec.offset },
        "skipping a record that does not decode",
      );
    }
  }

  private emit(job: Job, event: JobEvent): void {
    job.events.push(event);
    for (const listener of job.listeners) listener(event);
  }
}
