import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../../streams/index.js";

/**
 * The catalogue of known failure modes: the rules tier. Each entry says which spikes it is about
 * (metric name, exact or glob), how strong and how many they must be, across how many sources, and
 * what it concludes. Entries are checked in order and the first match decides (as in a firewall):
 * put suppressions above the entries they should win over.
 */
export const catalogueEntrySchema = z
  .strictObject({
    /** Stable id, kebab-case; appears in request context and results. */
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "must be lower-case letters, digits, '.', '_' or '-'"),
    /** Shown to operators and to the tiers as context. */
    description: z.string().default(""),
    /** Metric name(s) the entry is about: exact names or globs (`*` any run of characters, `?` one). */
    metric: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** Only spikes at least this intense count. Default 0. */
    minIntensity: z.number().min(0).default(0),
    /** Only spikes at most this intense count (e.g. to suppress weak noise only). Default no limit. */
    maxIntensity: z.number().min(0).optional(),
    /** At least this many counted spikes in the window. Default 1. */
    minSpikes: z.number().int().min(1).default(1),
    /** Counted spikes from at least this many distinct sources (correlation). Default 1. */
    minSources: z.number().int().min(1).default(1),
    /** The conclusion; required unless `suppress` is true. */
    verdict: z.enum(["NORMAL", "ANOMALY", "INCIDENT", "ESCALATE"]).optional(),
    /** Confidence reported with the verdict, 0 to 1. Default 0.9. */
    confidence: z.number().min(0).max(1).default(0.9),
    /** A control action to suggest (the control sink still checks its whitelist). Default none. */
    action: z.string().min(1).nullable().default(null),
    /**
     * Drop matching windows without escalating (known noise, e.g. a flapping metric). A suppressing
     * entry matches only when it counts every spike of the case, so it never hides other spikes.
     * Default false.
     */
    suppress: z.boolean().default(false),
  })
  .superRefine((entry, ctx) => {
    if (!entry.suppress && entry.verdict === undefined) {
      ctx.addIssue({ code: "custom", path: ["verdict"], message: "required unless suppress: true" });
    }
    if (entry.maxIntensity !== undefined && entry.maxIntensity < entry.minIntensity) {
      ctx.addIssue({ code: "custom", path: ["maxIntensity"], message: "must be at least minIntensity" });
    }
  });

export const catalogueSchema = z.array(catalogueEntrySchema).superRefine((entries, ctx) => {
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const first = seen.get(entry.id);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [index, "id"],
        message: `duplicate id, first used by entry ${first}`,
      });
    } else {
      seen.set(entry.id, index);
    }
  });
});

export type CatalogueEntry = z.output<typeof catalogueEntrySchema>;

/** What a matching entry contributes to a request's context (and what the rules backend reads). */
export interface CatalogueMatch {
  id: string;
  description: string;
  verdict: "NORMAL" | "ANOMALY" | "INCIDENT" | "ESCALATE";
  confidence: number;
  action: string | null;
  suppress: boolean;
  matchedSpikes: number;
  matchedSources: number;
}

/** The part of a spike the catalogue looks at. */
export interface ObservedSpike {
  source: string;
  metric: string;
  intensity: number;
}

/** A catalogue with its globs compiled, ready to match windows. */
export class Catalogue {
  private readonly compiled: Array<{ entry: CatalogueEntry; patterns: RegExp[] }>;

  constructor(readonly entries: readonly CatalogueEntry[]) {
    this.compiled = entries.map((entry) => ({
      entry,
      patterns: (Array.isArray(entry.metric) ? entry.metric : [entry.metric]).map(globToRegExp),
    }));
  }

  /** Every entry the spikes satisfy, in catalogue order; the first one decides. */
  match(spikes: readonly ObservedSpike[]): CatalogueMatch[] {
    const matches: CatalogueMatch[] = [];
    for (const { entry, patterns } of this.compiled) {
      const maxIntensity = entry.maxIntensity ?? Number.POSITIVE_INFINITY;
      const counted = spikes.filter(
        (s) =>
          s.intensity >= entry.minIntensity &&
          s.intensity <= maxIntensity &&
          patterns.some((p) => p.test(s.metric)),
      );
      const sources = new Set(counted.map((s) => s.source)).size;
      if (counted.length < entry.minSpikes || sources < entry.minSources) continue;
      if (entry.suppress && counted.length < spikes.length) continue;
      matches.push({
        id: entry.id,
        description: entry.description,
        verdict: entry.verdict ?? "NORMAL",
        confidence: entry.confidence,
        action: entry.action,
        suppress: entry.suppress,
        matchedSpikes: counted.length,
        matchedSources: sources,
      });
    }
    return matches;
  }
}

/** `*` matches any run of characters (dots included), `?` exactly one; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = [...glob]
    .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`);
}

/**
 * Parses catalogue YAML: a document `entries: [...]`. Every problem is reported with the entry
 * index and field, e.g. `catalogue.yaml: entries[2].minIntensity: Too small: expected number to be >=0`.
 */
export function parseCatalogue(text: string, file = "catalogue"): CatalogueEntry[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError([`${file}: not valid YAML: ${(err as Error).message}`], {
      cause: err,
      context: { file },
    });
  }
  const result = z.strictObject({ entries: catalogueSchema }).safeParse(doc ?? {});
  if (result.success) return result.data.entries;
  const problems = result.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => `${file}: ${formatIssuePath([...issue.path, key])}: unknown field`)
      : [`${file}: ${formatIssuePath(issue.path)}: ${issue.message}`],
  );
  throw new ConfigError(problems, { context: { file } });
}

/** Reads and parses a catalogue file; see {@link parseCatalogue}. */
export async function loadCatalogue(path: string, signal?: AbortSignal): Promise<CatalogueEntry[]> {
  let text: string;
  try {
    text = await readFile(path, { encoding: "utf8", signal });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ConfigError([`${path}: cannot read catalogue: ${(err as Error).message}`], {
      cause: err,
      context: { file: path },
    });
  }
  return parseCatalogue(text, path);
}

/** ["entries", 2, "minIntensity"] → "entries[2].minIntensity". */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(root)" : out;
}
