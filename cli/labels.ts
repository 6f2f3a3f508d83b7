import { existsSync, readFileSync } from "node:fs";
import type { LabelledWindow } from "../processors/control-sink/index.js";
import { UsageError } from "./command-context.js";

/**
 * Reads a labels file: a JSON list of windows {name, sources, metric?, startMs, endMs} (what
 * `scripts/make-recordings.ts` writes beside a recording). Errors name the flag, file and entry.
 */
export function readLabels(path: string, flag = "--labels"): LabelledWindow[] {
  if (!existsSync(path)) throw new UsageError(`${flag}: file not found: ${path}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError(`${flag}: ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new UsageError(`${flag}: ${path} must hold a JSON list`);
  return parsed.map((w, i) => {
    const ok =
      typeof w?.name === "string" &&
      Array.isArray(w.sources) &&
      w.sources.every((s: unknown) => typeof s === "string") &&
      Number.isFinite(w.startMs) &&
      Number.isFinite(w.endMs) &&
      (w.metric === undefined || typeof w.metric === "string");
    if (!ok)
      throw new UsageError(
        `${flag}: entry ${i} of ${path} needs name, sources[] (strings), startMs and endMs (numbers), and optionally metric`,
      );
    return w as LabelledWindow;
  });
}
