import { isAbsolute, resolve } from "node:path";
import type { AnyProcessorSpec } from "../../streams/index.js";
import { issueProblems } from "./topology-file.js";
import type { FieldPath, YamlSource } from "./yaml-source.js";

/** Where a node's options came from in the file, to report their problems at the right line. */
export interface OptionsOrigin {
  /** Path of the mapping the options were read from, e.g. `["tiers", 1]`. */
  path: FieldPath;
  /** Maps an option path to its path under `path` (fields the builder renamed). Default: the same. */
  map?: (optionPath: FieldPath) => FieldPath;
}

/**
 * Relative paths in options named `...Path` or `...Dir` (cataloguePath, backend.modelPath,
 * backend.promptDir) are taken from the topology file's directory, so a file and what it refers to
 * can move together.
 */
export function resolveOptionPaths(value: unknown, dir: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveOptionPaths(v, dir));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      typeof v === "string" && /(Path|Dir)$/.test(key) && !isAbsolute(v) && v !== ""
        ? resolve(dir, v)
        : resolveOptionPaths(v, dir);
  }
  return out;
}

/**
 * The node's options from the file with the configuration's `nodes.<name>` merged over them (field by
 * field, as for the built-in mesh), checked against the processor's schema. Problems name the file's
 * line and field, or the configuration's field when an override caused them.
 */
export function checkNodeOptions(
  source: YamlSource,
  spec: AnyProcessorSpec,
  nodeName: string,
  fromFile: Record<string, unknown>,
  override: Record<string, unknown> | undefined,
  origin: OptionsOrigin,
): { options: Record<string, unknown>; problems: string[] } {
  const options = { ...fromFile, ...(override ?? {}) };
  const parsed = spec.options.safeParse(options);
  if (parsed.success) return { options, problems: [] };
  const problems: string[] = [];
  const inFile = parsed.error.issues.filter((i) => !(override && String(i.path[0]) in override));
  const inConfig = parsed.error.issues.filter((i) => override && String(i.path[0]) in override);
  problems.push(...issueProblems(source, origin.path, inFile, options, origin.map));
  for (const issue of inConfig) {
    problems.push(`configuration nodes.${nodeName}.${issue.path.map(String).join(".")}: ${issue.message}`);
  }
  return { options, problems };
}
