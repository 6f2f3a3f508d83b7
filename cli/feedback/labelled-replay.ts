import { type LabelledWindow, labelledFeedback } from "../../processors/control-sink/index.js";
import {
  type Feedback,
  type ReasoningRequest,
  type ReasoningResult,
  recordTypes,
} from "../../schemas/index.js";
import type { Logger } from "../../streams/index.js";
import { readToEnd } from "../../streams/topology/index.js";
import type { OutgoingRecord } from "../../streams/transport/transport.js";
import type { Runtime } from "../runtime.js";
import { FEEDBACK_TOPIC, RESULTS_TOPIC } from "./result-index.js";

export interface LabelledReplayReport {
  /** Requests read from the escalations.* topics. */
  requests: number;
  /** Results read from reasoning.results. */
  results: number;
  /** Feedback published (or, with dryRun, that would be), by outcome. */
  byOutcome: Record<string, number>;
  /** Results whose request was not found (retention, another run), so not judged. */
  unmatched: number;
  /** Records that did not decode, skipped. */
  undecodable: number;
  published: boolean;
}

/**
 * Feedback from a labelled replay: reads every request on the `escalations.*` topics and every
 * result on `reasoning.results` (from the start, with a private consumer group), judges each answered
 * request against the labels (`labelledOutcome`: right answers USEFUL, wrong ones NOT_USEFUL, failed
 * calls ERROR/TIMEOUT) and publishes the Feedback records to `feedback`, keyed by route, for the
 * learner. Running it twice publishes twice.
 */
export async function publishLabelledFeedback(
  runtime: Runtime,
  labels: readonly LabelledWindow[],
  opts: { log: Logger; signal: AbortSignal; nowMs: number; dryRun?: boolean },
): Promise<LabelledReplayReport> {
  const { transport, codec } = runtime;
  const group = `spikemesh-labelled-feedback-${process.pid}-${Date.now()}`;
  const existing = await transport.admin().listTopics();
  const topics = existing.filter((t) => t.startsWith("escalations."));
  const requests = new Map<string, Pick<ReasoningRequest, "spikes">>();
  const encoded: { topic: string; value: Buffer }[] = [];
  for (const topic of topics) {
    await readToEnd(
      transport,
      topic,
      "all",
      `${group}-${topic}`,
      (rec) => {
        if (rec.value) encoded.push({ topic, value: rec.value });
      },
      opts.signal,
    );
  }
  let undecodable = 0;
  for (const { topic, value } of encoded) {
    try {
      const request = (await codec.decode(topic, recordTypes.ReasoningRequest, value)) as ReasoningRequest;
      requests.set(request.id, { spikes: request.spikes });
    } catch (err) {
      undecodable++;
      opts.log.debug({ err, topic }, "skipping a request that does not decode");
    }
  }
  const resultValues: Buffer[] = [];
  if (existing.includes(RESULTS_TOPIC))
    await readToEnd(
      transport,
      RESULTS_TOPIC,
      "all",
      `${group}-results`,
      (rec) => {
        if (rec.value) resultValues.push(rec.value);
      },
      opts.signal,
    );
  const feedback: Feedback[] = [];
  let unmatched = 0;
  for (const value of resultValues) {
    let result: ReasoningResult;
    try {
      result = (await codec.decode(RESULTS_TOPIC, recordTypes.ReasoningResult, value)) as ReasoningResult;
    } catch (err) {
      undecodable++;
      opts.log.debug({ err }, "skipping a result that does not decode");
      continue;
    }
    const request = requests.get(result.id);
    if (!request) {
      unmatched++;
      continue;
    }
    feedback.push(labelledFeedback(request, result, labels, opts.nowMs));
  }
  const byOutcome: Record<string, number> = {};
  for (const f of feedback) byOutcome[f.outcome] = (byOutcome[f.outcome] ?? 0) + 1;
  if (!opts.dryRun && feedback.length > 0) {
    const producer = transport.producer({ idempotent: true });
    try {
      const records: OutgoingRecord[] = [];
      for (const f of feedback)
        records.push({
          topic: FEEDBACK_TOPIC,
          key: Buffer.from(f.route),
          value: await codec.encode(FEEDBACK_TOPIC, recordTypes.Feedback, f),
          timestampMs: f.ts,
        });
      await producer.send(records);
    } finally {
      await producer.close();
    }
  }
  return {
    requests: requests.size,
    results: resultValues.length,
    byOutcome,
    unmatched,
    undecodable,
    published: !opts.dryRun && feedback.length > 0,
  };
}
