import { z } from "zod";
import { SpikemeshError } from "../../streams/index.js";
import type { TierAnswer } from "./backend.js";

/** Verdicts a model may give (UNKNOWN is the worker's, for failures). */
export const MODEL_VERDICTS = ["NORMAL", "ANOMALY", "INCIDENT", "ESCALATE"] as const;

/**
 * Confidence is a choice of eleven values rather than a JSON number: a grammar-constrained `number`
 * from a weak model can come out as an enormous exponent, and the grammar accepts it.
 */
export const CONFIDENCE_STEPS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

export interface VerdictShape {
  /** Action names the model may suggest (the control sink still checks its own whitelist). */
  actions: readonly string[];
  /** Longest summary, characters. */
  maxSummaryChars: number;
}

/**
 * The verdict record as a JSON schema: the grammar node-llama-cpp constrains generation with, and
 * the `response_format` of OpenAI-compatible servers. Every property is required; no others allowed.
 */
export function verdictJsonSchema(shape: VerdictShape) {
  return {
    type: "object",
    properties: {
      verdict: { enum: [...MODEL_VERDICTS] },
      confidence: { enum: [...CONFIDENCE_STEPS] },
      action: { enum: [...shape.actions, null] },
      novel: { type: "boolean" },
      correlated: { type: "boolean" },
      summary: { type: "string", maxLength: shape.maxSummaryChars },
    },
    required: ["verdict", "confidence", "action", "novel", "correlated", "summary"],
    additionalProperties: false,
  } as const;
}

export type VerdictJsonSchema = ReturnType<typeof verdictJsonSchema>;

/** What a model's verdict record parses to. */
export interface ModelVerdict {
  verdict: (typeof MODEL_VERDICTS)[number];
  confidence: number;
  action: string | null;
  novel: boolean;
  correlated: boolean;
  summary: string;
}

function verdictSchema(shape: VerdictShape) {
  const actions = new Set(shape.actions);
  return z.strictObject({
    verdict: z.enum(MODEL_VERDICTS),
    confidence: z.number().min(0).max(1),
    action: z
      .string()
      .nullable()
      .refine((a) => a === null || actions.has(a), "not one of the offered actions"),
    novel: z.boolean(),
    correlated: z.boolean(),
    // Counted as the grammar counts: code points (an astral character is 2 UTF-16 units), and
    // without U+FFFD, which decoding puts in per byte of a broken UTF-8 sequence the model emitted.
    summary: z
      .string()
      .refine(
        (s) => [...s.replace(/\uFFFD/g, "")].length <= shape.maxSummaryChars,
        `longer than ${shape.maxSummaryChars} characters`,
      ),
  });
}

/**
 * Parses and validates a model's output against the verdict record. Grammars make it well-formed,
 * but HTTP servers may ignore `response_format` and ranges are checked here in any case. Throws a
 * retriable RECORD_INVALID error naming the first problem (a retry samples again).
 */
export function parseVerdict(text: string, shape: VerdictShape): ModelVerdict {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(`model output is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const parsed = verdictSchema(shape).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`model output is not a verdict record at "${issue?.path.join(".")}": ${issue?.message}`);
  }
  return parsed.data;
}

function invalid(message: string): SpikemeshError {
  return new SpikemeshError("RECORD_INVALID", message, { retriable: true });
}

/** A validated verdict as the worker's answer; novel or correlated cases ask to be handed up. */
export function answerFromVerdict(v: ModelVerdict, tokens: number, promptTokens: number): TierAnswer {
  return {
    verdict: v.verdict,
    confidence: v.confidence,
    action: v.action,
    // Random or weak models emit control characters and broken surrogates; operators read this.
    summary: v.summary
      .replace(/\uFFFD/g, "")
      .replace(/\p{Cc}/gu, " ")
      .trim(),
    tokens,
    promptTokens,
    handUp: v.novel || v.correlated,
  };
}
