import { z } from "zod";

const tierName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "must be lower-case letters, digits or '-'");

/** Options of the `workerDispatcher` processor (one node per tier). */
export const workerDispatcherOptionsSchema = z.strictObject({
  /** Tier whose requests this dispatcher assigns; only workers advertising this tier get them. */
  tier: tierName,
  /** A worker is dropped after this many of its heartbeat intervals pass without a new one. Default 3. */
  missedHeartbeats: z.number().int().min(1).max(100).default(3),
  /**
   * How long a request waits for a live worker that can run it before it is answered with an error
   * result, ms; 0 fails it at once. Default 30000. A request past its deadline fails sooner.
   */
  waitForWorkerMs: z.number().int().min(0).default(30_000),
  /** Assignments per request, the first included; a request whose workers keep dying then fails. Default 3. */
  maxAttempts: z.number().int().min(1).max(100).default(3),
  /** How often heartbeats are checked, waiting requests retried and gauges updated, ms. Default 500. */
  tickMs: z.number().int().min(10).default(500),
  /** Distinct `worker` metric labels; later workers share the label "other". Default 50. */
  maxWorkerLabels: z.number().int().min(1).max(1000).default(50),
  /** Longest `error` text of a result, characters. Default 500. */
  maxErrorChars: z.number().int().positive().default(500),
});

export type WorkerDispatcherOptions = z.output<typeof workerDispatcherOptionsSchema>;
