import { z } from "zod";
import type { ReasoningRequest } from "../../schemas/index.js";
import { SpikemeshError } from "../../streams/index.js";
import type { TierAnswer, TierBackend } from "./backend.js";

export const rulesBackendOptionsSchema = z.strictObject({
  kind: z.literal("rules"),
  /** Reported as the result's `model`. Default "rules". */
  model: z.string().min(1).default("rules"),
  /**
   * Heuristic thresholds on the largest spike intensity when no catalogue entry matched. SNN filter
   * intensities are membrane potential over threshold, so 1 is a spike that just fired.
   * ANOMALY from this intensity; default 1.5.
   */
  anomalyIntensity: z.number().positive().default(1.5),
  /** INCIDENT from this intensity; default 3. */
  incidentIntensity: z.number().positive().default(3),
});

export type RulesBackendOptions = z.output<typeof rulesBackendOptionsSchema>;

/** The part of the router's request context the rules backend relies on (the record's contract). */
const contextSchema = z.looseObject({
  catalogue: z
    .array(
      z.looseObject({
        id: z.string(),
        verdict: z.enum(["NORMAL", "ANOMALY", "INCIDENT", "ESCALATE"]),
        confidence: z.number().min(0).max(1),
        action: z.string().nullable().default(null),
        suppress: z.boolean().default(false),
      }),
    )
    .default([]),
  summary: z.looseObject({ maxIntensity: z.number().optional() }).optional(),
  sources: z.array(z.string()).optional(),
});

/** Confidence of the intensity heuristic, by verdict: it is a guess, so it stays modest. */
const HEURISTIC_CONFIDENCE = { NORMAL: 0.5, ANOMALY: 0.6, INCIDENT: 0.75 } as const;

/**
 * Answers without a model. When the router matched catalogue entries, the first (the one that
 * decided) gives verdict, confidence and action. Otherwise a heuristic on the largest spike
 * intensity: at least `incidentIntensity` → INCIDENT, at least `anomalyIntensity` → ANOMALY, else
 * NORMAL; no spikes → UNKNOWN. The heuristic never suggests an action: acting is left to entries an
 * operator wrote.
 */
export class RulesBackend implements TierBackend {
  readonly name = "rules";
  readonly model: string;

  constructor(private readonly opts: RulesBackendOptions) {
    this.model = opts.model;
  }

  async answer(request: ReasoningRequest, signal: AbortSignal): Promise<TierAnswer> {
    signal.throwIfAborted();
    const context = parseContext(request.context);
    const entry = context.catalogue.find((e) => !e.suppress);
    if (entry) {
      return {
        verdict: entry.verdict,
        confidence: entry.confidence,
        action: entry.action,
        summary: `catalogue entry ${entry.id}`,
        tokens: 0,
      };
    }
    const maxIntensity =
      context.summary?.maxIntensity ?? request.spikes.reduce((m, s) => Math.max(m, s.intensity), 0);
    if (request.spikes.length === 0 && !(maxIntensity > 0)) {
      return { verdict: "UNKNOWN", confidence: 0, action: null, summary: "no spikes to judge", tokens: 0 };
    }
    const verdict =
      maxIntensity >= this.opts.incidentIntensity
        ? "INCIDENT"
        : maxIntensity >= this.opts.anomalyIntensity
          ? "ANOMALY"
          : "NORMAL";
    const sources = context.sources?.length ?? 1;
    return {
      verdict,
      confidence: HEURISTIC_CONFIDENCE[verdict],
      action: null,
      summary: `heuristic: max intensity ${maxIntensity.toFixed(2)} over ${request.spikes.length} spike(s) from ${sources} source(s)`,
      tokens: 0,
    };
  }
}

function parseContext(text: string): z.output<typeof contextSchema> {
  let json: unknown;
  try {
    json = JSON.parse(text === "" ? "{}" : text);
  } catch {
    throw new SpikemeshError("RECORD_INVALID", "request context is not JSON", {
      context: { field: "context" },
    });
  }
  const parsed = contextSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join(".") ?? "";
    throw new SpikemeshError(
      "RECORD_INVALID",
      `request context does not fit the rules backend at "${where}"`,
      {
        context: { field: `context.${where}` },
      },
    );
  }
  return parsed.data;
}
