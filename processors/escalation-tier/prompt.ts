import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ReasoningRequest } from "../../schemas/index.js";
import { ConfigError } from "../../streams/index.js";
import type { VerdictShape } from "./verdict.js";

/** A chat prompt: instructions, then the case. */
export interface ChatPrompt {
  system: string;
  user: string;
}

const PROMPTS_FROM_ROOT = join("processors", "escalation-tier", "prompts");

/**
 * The shipped prompts folder, found from this module whether it runs from the sources or from
 * dist/ (the .md files are not copied into the build).
 */
export function defaultPromptDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, PROMPTS_FROM_ROOT);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return join(dirname(fileURLToPath(import.meta.url)), "prompts");
    dir = parent;
  }
}

/** Replaces `{{name}}` placeholders; unknown ones stay as they are. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => values[name] ?? whole);
}

/**
 * The case as JSON for `{{data}}`: source, the router's context and the spikes (payloads parsed
 * when they are JSON), newest spikes kept when it must shrink to `maxChars`. `<` and `>` are
 * escaped (still valid JSON) so that telemetry or log text cannot close the data block.
 */
export function caseData(request: ReasoningRequest, maxChars: number): string {
  const context = parseLoose(request.context);
  const spikes = request.spikes.map((s) => ({
    timestamp: s.timestamp,
    type: s.type,
    neuron: s.neuron,
    intensity: Math.round(s.intensity * 1e4) / 1e4,
    payload: parseLoose(s.payload),
  }));
  let text = "";
  for (let keep = spikes.length; keep >= 0; keep--) {
    const data = {
      source: request.source,
      context,
      spikes: spikes.slice(spikes.length - keep),
      ...(keep < spikes.length ? { spikesLeftOut: spikes.length - keep } : {}),
    };
    text = JSON.stringify(data);
    if (text.length <= maxChars) return escapeMarkup(text);
  }
  // Even without spikes the context is too long: quote a prefix of it as a string.
  const head = JSON.stringify({ source: request.source, contextPrefix: "", truncated: true });
  const room = Math.max(0, maxChars - head.length);
  text = JSON.stringify({
    source: request.source,
    contextPrefix: request.context.slice(0, room),
    truncated: true,
  });
  return escapeMarkup(text);
}

function parseLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function escapeMarkup(json: string): string {
  return json.replace(/</g, "\\u003c").replace(/>/g, "\\u003e");
}

/** One prompt version: `system.md` and `user.md` from `<dir>/<version>/`. */
export class PromptTemplate {
  private constructor(
    readonly version: string,
    private readonly system: string,
    private readonly user: string,
  ) {}

  /** Reads the version's files; a missing folder or file is a configuration error naming it. */
  static async load(dir: string, version: string, field = "backend.promptVersion"): Promise<PromptTemplate> {
    const read = async (name: string) => {
      const path = join(dir, version, name);
      try {
        return await readFile(path, "utf8");
      } catch (err) {
        throw new ConfigError(
          [`${field}: cannot read prompt ${path}: ${(err as Error).message} (versions live in ${dir})`],
          { cause: err, context: { file: path } },
        );
      }
    };
    // One after the other, so a missing version always names the same (first) file.
    const system = await read("system.md");
    const user = await read("user.md");
    return new PromptTemplate(version, system.trim(), user.trim());
  }

  render(request: ReasoningRequest, tier: string, shape: VerdictShape, maxDataChars: number): ChatPrompt {
    const actions = shape.actions.length > 0 ? shape.actions.map((a) => `"${a}"`).join(", ") : "(none)";
    return {
      system: fill(this.system, { tier, actions, maxSummaryChars: String(shape.maxSummaryChars) }),
      user: fill(this.user, {
        requestId: request.id,
        depth: String(request.depth),
        data: caseData(request, maxDataChars),
      }),
    };
  }
}
