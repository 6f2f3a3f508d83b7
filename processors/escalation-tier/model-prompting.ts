import { z } from "zod";
import type { ReasoningRequest } from "../../schemas/index.js";
import type { ChatMessage } from "./llama-engine.js";
import { defaultPromptDir, PromptTemplate } from "./prompt.js";
import { type VerdictShape, verdictJsonSchema } from "./verdict.js";

const actionName = z.string().regex(/^[a-z][a-z0-9-]*$/, "must be lower-case letters, digits or '-'");

/** Options every model backend (llama, http) shares: prompt, verdict shape and sampling. */
export const modelPromptingFields = {
  /** Prompt version: a folder under `promptDir` holding system.md and user.md. Default "v1". */
  promptVersion: z
    .string()
    .regex(/^[a-zA-Z0-9._-]+$/, "a folder name")
    .default("v1"),
  /** Folder of prompt versions. Default: the prompts shipped in processors/escalation-tier/prompts. */
  promptDir: z.string().min(1).optional(),
  /** Longest case data quoted into the prompt, characters (oldest spikes are left out first). Default 2000. */
  maxDataChars: z.number().int().min(200).default(2000),
  /** Longest summary the model may write, characters. Default 120. */
  maxSummaryChars: z.number().int().min(10).max(2000).default(120),
  /**
   * Actions the model may suggest (the control sink's whitelist still decides). Default
   * ["notify", "throttle-source", "open-ticket"], the control sink's default whitelist.
   */
  actions: z.array(actionName).default(["notify", "throttle-source", "open-ticket"]),
  /** Most tokens generated per answer; must cover the verdict record (about 300 with a byte vocabulary). Default 400. */
  maxTokens: z.number().int().positive().default(400),
  /** Sampling temperature; 0 is greedy. Default 0. */
  temperature: z.number().min(0).max(2).default(0),
};

export type ModelPromptingOptions = {
  promptVersion: string;
  promptDir?: string | undefined;
  maxDataChars: number;
  maxSummaryChars: number;
  actions: string[];
  maxTokens: number;
  temperature: number;
};

/** Prompt rendering and the verdict shape of one model backend. */
export class ModelPrompting {
  readonly shape: VerdictShape;
  readonly jsonSchema: ReturnType<typeof verdictJsonSchema>;
  private template: PromptTemplate | undefined;

  constructor(
    private readonly opts: ModelPromptingOptions,
    private readonly tier: string,
  ) {
    this.shape = { actions: opts.actions, maxSummaryChars: opts.maxSummaryChars };
    this.jsonSchema = verdictJsonSchema(this.shape);
  }

  /** Reads the prompt files; a missing version is a configuration error. */
  async load(): Promise<void> {
    this.template = await PromptTemplate.load(
      this.opts.promptDir ?? defaultPromptDir(),
      this.opts.promptVersion,
    );
  }

  get promptVersion(): string {
    return this.opts.promptVersion;
  }

  messages(request: ReasoningRequest): ChatMessage[] {
    if (!this.template) throw new Error("ModelPrompting.load() was not called (the backend was not opened)");
    const prompt = this.template.render(request, this.tier, this.shape, this.opts.maxDataChars);
    return [
      { role: "system", content: prompt.system },
      { role: "user", content: prompt.user },
    ];
  }
}
