import { statSync } from "node:fs";
import { z } from "zod";
import type { ReasoningRequest, ReasoningResult } from "../../schemas/index.js";
import { ConfigError } from "../../streams/index.js";
import { RecordedValueDecoder, RecordingReader } from "../../streams/replay/index.js";
import type { TierAnswer, TierBackend } from "./backend.js";
import { RulesBackend, rulesBackendOptionsSchema } from "./rules-backend.js";

export const recordedBackendOptionsSchema = z.strictObject({
  kind: z.literal("recorded"),
  /** A recording (.smrec) that holds the results topic of an earlier run (and ideally its requests). */
  file: z.string().min(1),
  /** Topic of the results in the recording. Default "reasoning.results". */
  resultsTopic: z.string().min(1).default("reasoning.results"),
  /**
   * "id": only the result of the same request id (same source, window and tier) answers.
   * "case": otherwise also a result for the same case (same source and first spike, found through the
   * recorded `escalations.*` requests) from any tier, so a configuration that routes differently still
   * gets the recorded opinion. Default "id".
   */
  match: z.enum(["id", "case"]).default("id"),
  /**
   * A request the recording has no answer for: "rules" answers with the rules heuristic (summary says
   * so), "error" fails the call (a non-retriable error result). Default "rules".
   */
  missing: z.enum(["rules", "error"]).default("rules"),
  /** Reported as the results' `model` and metric label. Default "recorded". */
  model: z.string().min(1).default("recorded"),
});

export type RecordedBackendOptions = z.output<typeof recordedBackendOptionsSchema>;

/** How the summary of an answer the recording did not have begins (the `missing: rules` policy). */
export const NOT_RECORDED = "not in the recording";

/** What a recording answers with: results by request id, and by case key. */
interface RecordedAnswers {
  byId: Map<string, ReasoningResult>;
  byCase: Map<string, ReasoningResult>;
}

/** Recordings read once per file version and shared by every instance and tier that names them. */
const loaded = new Map<string, RecordedAnswers>();

/**
 * Answers from an earlier run's recorded results, for what-if runs and regression tests at full speed
 * without models: the recorded verdict, confidence, action, summary and tokens of the same request (or
 * case), and the rules heuristic (or an error) for requests the recording never saw. A recorded
 * failure is replayed as a failure.
 */
export class RecordedBackend implements TierBackend {
  readonly name = "recorded";
  readonly model: string;
  private answers: RecordedAnswers | undefined;
  private readonly fallback = new RulesBackend(rulesBackendOptionsSchema.parse({ kind: "rules" }));
  /** Requests answered from the recording, and by the `missing` policy. */
  readonly counts = { recorded: 0, missing: 0 };

  constructor(private readonly opts: RecordedBackendOptions) {
    this.model = opts.model;
  }

  async open(): Promise<void> {
    this.answers = loadAnswers(this.opts.file, this.opts.resultsTopic);
  }

  async answer(request: ReasoningRequest, signal: AbortSignal): Promise<TierAnswer> {
    signal.throwIfAborted();
    const answers = this.answers ?? loadAnswers(this.opts.file, this.opts.resultsTopic);
    this.answers = answers;
    const hit =
      answers.byId.get(request.id) ??
      (this.opts.match === "case" ? answers.byCase.get(caseKey(request)) : undefined);
    if (!hit) {
      this.counts.missing++;
      if (this.opts.missing === "error")
        throw new Error(`no recorded result for request ${request.id} in ${this.opts.file}`);
      const answer = await this.fallback.answer(request, signal);
      return { ...answer, summary: `${NOT_RECORDED}; ${answer.summary}` };
    }
    this.counts.recorded++;
    if (hit.error !== null) throw new Error(`recorded failure of tier ${hit.tier}: ${hit.error}`);
    return {
      verdict: hit.verdict,
      confidence: hit.confidence,
      action: hit.action,
      summary: hit.summary,
      tokens: hit.tokens,
    };
  }
}

/** Same source and first spike: the same case, whatever tier or window id a configuration gave it. */
function caseKey(request: Pick<ReasoningRequest, "source" | "spikes">): string {
  return `${request.source}\u0000${request.spikes[0]?.timestamp ?? ""}`;
}

function loadAnswers(file: string, resultsTopic: string): RecordedAnswers {
  let version: string;
  try {
    const st = statSync(file);
    version = `${file}\u0000${st.size}\u0000${st.mtimeMs}`;
  } catch (err) {
    throw new ConfigError([`backend.file: cannot read recording ${file}: ${(err as Error).message}`], {
      cause: err,
    });
  }
  const cached = loaded.get(version);
  if (cached) return cached;
  const reader = new RecordingReader(file);
  const decoder = new RecordedValueDecoder(reader);
  const byId = new Map<string, ReasoningResult>();
  const caseOf = new Map<string, string>();
  let results = 0;
  try {
    for (const rec of reader.records()) {
      if (rec.topic === resultsTopic) {
        const r = decoder.decode(rec) as ReasoningResult | undefined;
        if (r && typeof r.id === "string") {
          byId.set(r.id, r);
          results++;
        }
      } else if (rec.topic.startsWith("escalations.")) {
        const q = decoder.decode(rec) as ReasoningRequest | undefined;
        if (q && typeof q.id === "string" && Array.isArray(q.spikes)) caseOf.set(q.id, caseKey(q));
      }
    }
  } catch (err) {
    throw new ConfigError([`backend.file: ${(err as Error).message}`], { cause: err });
  }
  if (results === 0)
    throw new ConfigError([
      `backend.file: recording ${file} holds no ${resultsTopic} records to answer from (record the results topic of a run)`,
    ]);
  const byCase = new Map<string, ReasoningResult>();
  for (const [id, key] of caseOf) {
    const r = byId.get(id);
    // The first answer of a case wins, so the case key is stable whatever order tiers answered in.
    if (r && r.error === null && !byCase.has(key)) byCase.set(key, r);
  }
  const answers = { byId, byCase };
  loaded.set(version, answers);
  return answers;
}
