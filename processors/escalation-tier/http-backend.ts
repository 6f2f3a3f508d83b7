import { z } from "zod";
import type { ReasoningRequest } from "../../schemas/index.js";
import { describeError, SpikemeshError } from "../../streams/index.js";
import type { TierAnswer, TierBackend } from "./backend.js";
import { ModelPrompting, modelPromptingFields } from "./model-prompting.js";
import { answerFromVerdict, parseVerdict } from "./verdict.js";

export const httpBackendOptionsSchema = z.strictObject({
  kind: z.literal("http"),
  /**
   * Base URL of an OpenAI-compatible API, up to and including `/v1`: llama.cpp's server,
   * vLLM, Ollama (`http://host:11434/v1`) or `spikemesh serve-model`. Required.
   */
  baseUrl: z.string().url(),
  /** Model name sent to the server; also the result's `model` and a metric label. Required. */
  model: z.string().min(1),
  /** Sent as `Authorization: Bearer <apiKey>` when set (printed configs redact it). */
  apiKey: z.string().min(1).optional(),
  /**
   * How the verdict record is asked for: "json_schema" (strict schema, the default; llama.cpp
   * server, vLLM, Ollama >= 0.5, serve-model), "json_object" (JSON mode only) or "none" (prompt
   * only). The answer is validated in every case.
   */
  responseFormat: z.enum(["json_schema", "json_object", "none"]).default("json_schema"),
  /** Sent as `seed` when set. */
  seed: z.number().int().min(0).optional(),
  ...modelPromptingFields,
});

export type HttpBackendOptions = z.output<typeof httpBackendOptionsSchema>;

interface ChatCompletion {
  choices?: { message?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

/** Longest piece of an error response quoted in an error message. */
const MAX_BODY_QUOTE = 300;

/**
 * Answers through an OpenAI-compatible `POST <baseUrl>/chat/completions`, asking for the verdict
 * record with a JSON-schema `response_format`. Unreachable servers, 429 and 5xx are retriable
 * TRANSIENT errors; other 4xx are configuration errors (wrong model, URL or key) and are not
 * retried; a reply that is not a valid verdict is a retriable RECORD_INVALID. The request signal
 * (deadline, shutdown) aborts the HTTP call.
 */
export class HttpBackend implements TierBackend {
  readonly name = "http";
  readonly model: string;
  private readonly prompting: ModelPrompting;
  private readonly url: string;

  constructor(
    private readonly opts: HttpBackendOptions,
    tier: string,
  ) {
    this.model = opts.model;
    this.prompting = new ModelPrompting(opts, tier);
    this.url = new URL(
      "chat/completions",
      opts.baseUrl.endsWith("/") ? opts.baseUrl : `${opts.baseUrl}/`,
    ).href;
  }

  async open(): Promise<void> {
    await this.prompting.load();
  }

  async answer(request: ReasoningRequest, signal: AbortSignal): Promise<TierAnswer> {
    const body = {
      model: this.opts.model,
      messages: this.prompting.messages(request),
      max_tokens: this.opts.maxTokens,
      temperature: this.opts.temperature,
      stream: false,
      ...(this.opts.seed === undefined ? {} : { seed: this.opts.seed }),
      ...this.responseFormat(),
    };
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw err;
      const cause = (err as { cause?: unknown }).cause;
      throw new SpikemeshError("TRANSIENT", `cannot reach ${this.url}: ${describeError(cause ?? err)}`, {
        retriable: true,
        cause: err,
      });
    }
    const text = await response.text();
    if (!response.ok) {
      const quote = text.slice(0, MAX_BODY_QUOTE);
      const isTransient = response.status === 429 || response.status >= 500;
      throw new SpikemeshError(
        isTransient ? "TRANSIENT" : "CONFIG_INVALID",
        `${this.url} answered HTTP ${response.status}: ${quote}${isTransient ? "" : " (check backend.baseUrl, model and apiKey)"}`,
        { retriable: isTransient },
      );
    }
    let completion: ChatCompletion;
    try {
      completion = JSON.parse(text) as ChatCompletion;
    } catch {
      throw new SpikemeshError("TRANSIENT", `${this.url} answered with a body that is not JSON`, {
        retriable: true,
      });
    }
    const choice = completion.choices?.[0];
    const content = choice?.message?.content;
    if (typeof content !== "string") {
      throw new SpikemeshError("RECORD_INVALID", `${this.url} answered without choices[0].message.content`, {
        retriable: true,
      });
    }
    if (choice?.finish_reason === "length") {
      throw new SpikemeshError(
        "RECORD_INVALID",
        `model stopped at max_tokens (${this.opts.maxTokens}) before the verdict record was complete; raise backend.maxTokens`,
        { retriable: true },
      );
    }
    const verdict = parseVerdict(stripFences(content), this.prompting.shape);
    return answerFromVerdict(
      verdict,
      completion.usage?.completion_tokens ?? 0,
      completion.usage?.prompt_tokens ?? 0,
    );
  }

  private responseFormat(): Record<string, unknown> {
    switch (this.opts.responseFormat) {
      case "json_schema":
        return {
          response_format: {
            type: "json_schema",
            json_schema: { name: "verdict", strict: true, schema: this.prompting.jsonSchema },
          },
        };
      case "json_object":
        return { response_format: { type: "json_object" } };
      case "none":
        return {};
    }
  }
}

/** Servers without schema support sometimes wrap JSON in a Markdown code fence. */
function stripFences(content: string): string {
  const m = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(content);
  return m ? m[1]! : content.trim();
}
