import { type Feedback, type ReasoningResult, recordTypes } from "../../schemas/index.js";
import type { Logger } from "../../streams/index.js";
import type { Consumer } from "../../streams/transport/transport.js";
import type { Runtime } from "../runtime.js";

export const RESULTS_TOPIC = "reasoning.results";
export const FEEDBACK_TOPIC = "feedback";

/**
 * The results of `reasoning.results` by request id, read from the start of the topic with a
 * private, never-committing consumer, then (with `follow`) kept current. Keeps the newest
 * `maxEntries` results. Records that do not decode are skipped.
 */
export class ResultIndex {
  private readonly byId = new Map<string, ReasoningResult>();
  private consumer: Consumer | undefined;
  private loop: Promise<void> | undefined;
  private readonly stopped = new AbortController();
  /** Results read so far. */
  read = 0;

  constructor(
    private readonly runtime: Runtime,
    private readonly log: Logger,
    private readonly maxEntries = 500_000,
  ) {}

  get(requestId: string): ReasoningResult | undefined {
    return this.byId.get(requestId);
  }

  /** Reads the topic up to the end it has now; false when the topic does not exist yet. */
  async catchUp(signal: AbortSignal): Promise<boolean> {
    const admin = this.runtime.transport.admin();
    if (!(await admin.listTopics()).includes(RESULTS_TOPIC)) return false;
    const [description] = await admin.describeTopics([RESULTS_TOPIC]);
    const ends = new Map(
      (description?.partitions ?? [])
        .filter((p) => p.highOffset > p.lowOffset)
        .map((p) => [p.partition, p.highOffset]),
    );
    this.consumer ??= await this.subscribe();
    while (ends.size > 0 && !signal.aborted) {
      for (const rec of await this.poll(signal)) {
        if (rec.offset >= (ends.get(rec.partition) ?? 0) - 1) ends.delete(rec.partition);
      }
    }
    return true;
  }

  /** Keeps reading new results in the background until `close()`. */
  follow(): void {
    this.loop ??= (async () => {
      const signal = this.stopped.signal;
      while (!signal.aborted) {
        try {
          if (!this.consumer) {
            if (!(await this.catchUp(signal))) await new Promise((r) => setTimeout(r, 1_000));
            continue;
          }
          await this.poll(signal);
        } catch (err) {
          if (!signal.aborted) this.log.warn({ err }, "reading reasoning.results failed; retrying");
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
    })();
  }

  async close(): Promise<void> {
    this.stopped.abort();
    await this.loop;
    await this.consumer?.close();
  }

  private async subscribe(): Promise<Consumer> {
    const consumer = this.runtime.transport.consumer({
      groupId: `spikemesh-feedback-${process.pid}-${Date.now()}`,
      autoOffsetReset: "earliest",
    });
    await consumer.subscribe([RESULTS_TOPIC]);
    return consumer;
  }

  private async poll(signal: AbortSignal) {
    const batch = await this.consumer!.poll({ maxRecords: 1_000, maxWaitMs: 200, signal });
    for (const rec of batch) {
      if (rec.value === null) continue;
      try {
        const result = (await this.runtime.codec.decode(
          RESULTS_TOPIC,
          recordTypes.ReasoningResult,
          rec.value,
        )) as ReasoningResult;
        this.byId.delete(result.id);
        this.byId.set(result.id, result);
        this.read++;
        if (this.byId.size > this.maxEntries) this.byId.delete(this.byId.keys().next().value!);
      } catch (err) {
        this.log.debug({ err, offset: rec.offset }, "skipping a result that does not decode");
      }
    }
    return batch;
  }
}

/** Publishes one Feedback to the `feedback` topic, keyed by route as the learner expects. */
export async function publishFeedback(runtime: Runtime, feedback: Feedback): Promise<void> {
  const producer = runtime.transport.producer({ idempotent: true });
  try {
    await producer.send([
      {
        topic: FEEDBACK_TOPIC,
        key: Buffer.from(feedback.route),
        value: await runtime.codec.encode(FEEDBACK_TOPIC, recordTypes.Feedback, feedback),
        timestampMs: feedback.ts,
      },
    ]);
  } finally {
    await producer.close();
  }
}
