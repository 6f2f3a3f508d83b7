/**
 * Log template mining, side by side with a plain baseline over the same lines, one core:
 *   - spikemesh: TemplateMiner.add per line (mask numbers, addresses, ids and paths in one regex
 *     pass, split, walk the Drain parse tree, compare with the leaf's templates, generalise), from an
 *     empty miner each trial, so learning is included;
 *   - baseline: split on whitespace, replace digit runs with <*> (one regex), join, and look the
 *     result up in a Map of templates: what a few lines of code do without a miner.
 * Lines: seeded service logs (cli/demo/log-generator.ts: 8 usual kinds of line and 2 error kinds,
 * variables in numbers, addresses, hex keys, uuids, paths and plain words). Both sides' grouping
 * accuracy against the generator's labels is reported beside the speed.
 */
import { ERROR_LINE_KINDS, LogGenerator } from "../cli/demo/log-generator.js";
import { groupingAccuracy } from "../cli/templates/grouping-accuracy.js";
import { TemplateMiner } from "../processors/snn-filter/index.js";
import { type Suite, timed } from "./measure.js";

export const LOG_TEMPLATES_CASE = "log templates";

const DIGITS = /\d+/g;
const WHITESPACE = /\s+/;

/** The baseline's template of a line: whitespace tokens with digit runs masked. */
function regexTemplate(line: string): string {
  return line
    .split(WHITESPACE)
    .map((t) => t.replace(DIGITS, "<*>"))
    .join(" ");
}

export interface LogTemplatesWorkload {
  lines: string[];
  labels: string[];
  bytes: number;
}

/** `count` seeded lines from 8 sources, errors appearing in two windows. */
export function logTemplatesWorkload(count: number): LogTemplatesWorkload {
  const T0 = Date.UTC(2026, 0, 1);
  const sources = Array.from({ length: 8 }, (_, i) => `svc-${i + 1}`);
  // 8 sources at 10 lines/s: `count` lines span count / 80 seconds.
  const durationMs = Math.ceil(count / 80) * 1000 + 60_000;
  const generator = new LogGenerator({
    startMs: T0,
    durationMs,
    sources,
    linesPerSec: 10,
    incidents: ERROR_LINE_KINDS.map((k, i) => ({
      name: k.id,
      sources: [sources[i]!],
      kind: k.id,
      startMs: T0 + Math.round(durationMs * (0.3 + 0.3 * i)),
      endMs: T0 + Math.round(durationMs * (0.4 + 0.3 * i)),
      ratePerSec: 2,
    })),
    seed: 42,
  });
  const lines: string[] = [];
  const labels: string[] = [];
  let bytes = 0;
  for (const { event, label } of generator.lines()) {
    if (lines.length === count) break;
    lines.push(event.message);
    labels.push(label);
    bytes += Buffer.byteLength(event.message);
  }
  return { lines, labels, bytes };
}

/** Grouping accuracy of each side against the generator's labels (computed once, untimed). */
export function logTemplatesAccuracy(w: LogTemplatesWorkload): { miner: number; regex: number } {
  const miner = new TemplateMiner();
  const ids = new Map<string, number>();
  const regex = w.lines.map((l) => {
    const key = regexTemplate(l);
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size + 1;
      ids.set(key, id);
    }
    return id;
  });
  return {
    miner: groupingAccuracy(
      w.lines.map((l) => miner.add(l).templateId),
      w.labels,
    ).accuracy,
    regex: groupingAccuracy(regex, w.labels).accuracy,
  };
}

export function logTemplatesSuite(w: LogTemplatesWorkload): Suite {
  const records = w.lines.length;
  let sink = 0;
  return {
    cases: [LOG_TEMPLATES_CASE],
    spikemesh: {
      label:
        "Drain-style TemplateMiner.add per line (masks, parse tree, similarity, merging), empty miner each trial",
      trial: async () => {
        const miner = new TemplateMiner();
        const seconds = await timed(() => {
          for (const line of w.lines) sink += miner.add(line).templateId;
        });
        return { [LOG_TEMPLATES_CASE]: { records, bytes: w.bytes, seconds } };
      },
    },
    baseline: {
      label: "split on whitespace + digit runs → <*> (regex) + Map lookup of the joined template",
      trial: async () => {
        const ids = new Map<string, number>();
        const seconds = await timed(() => {
          for (const line of w.lines) {
            const key = regexTemplate(line);
            let id = ids.get(key);
            if (id === undefined) {
              id = ids.size + 1;
              ids.set(key, id);
            }
            sink += id;
          }
        });
        if (sink < 0) throw new Error("unreachable: keeps the loops from being optimised away");
        return { [LOG_TEMPLATES_CASE]: { records, bytes: w.bytes, seconds } };
      },
    },
  };
}
