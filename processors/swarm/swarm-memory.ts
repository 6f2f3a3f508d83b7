import type { Verdict } from "../../schemas/index.js";

/**
 * The swarm's memory of one source, pure: a short-term list of recent thoughts and episodic memory of
 * consolidated episodes (seed 001: short_term_capacity, episodic_capacity, consolidation_interval).
 * The conductor keeps both in changelogged state stores.
 */

/** One finished thought, as short-term memory keeps it. */
export interface MemoryItem {
  traceId: string;
  /** Event time of the input, epoch ms. */
  ts: number;
  verdict: Verdict;
  confidence: number;
  summary: string;
  answeredBy: string;
}

/** Several thoughts folded into one. */
export interface Episode {
  fromMs: number;
  toMs: number;
  thoughts: number;
  /** Thoughts per verdict. */
  verdicts: Partial<Record<Verdict, number>>;
  meanConfidence: number;
  /** Summary of the most confident thought that was not NORMAL (or the most confident one). */
  salient: string;
}

export interface ShortTermMemory {
  items: MemoryItem[];
  /** Thoughts remembered since the last consolidation. */
  sinceConsolidation: number;
}

export interface MemoryLimits {
  /** Items kept in short-term memory (oldest forgotten first). */
  shortTermCapacity: number;
  /** Episodes kept in episodic memory (oldest forgotten first). */
  episodicCapacity: number;
  /** Every this many thoughts, the latest ones are consolidated into an episode. */
  consolidationInterval: number;
}

export const emptyShortTerm = (): ShortTermMemory => ({ items: [], sinceConsolidation: 0 });

/**
 * Remembers a thought. Returns the new short-term memory and, when `consolidationInterval` thoughts
 * have gathered, the episode they consolidate into (the items stay in short-term memory until they
 * age out).
 */
export function remember(
  memory: ShortTermMemory,
  item: MemoryItem,
  limits: MemoryLimits,
): { memory: ShortTermMemory; episode: Episode | null } {
  const items = [...memory.items, item].slice(-limits.shortTermCapacity);
  const since = memory.sinceConsolidation + 1;
  if (since < limits.consolidationInterval) {
    return { memory: { items, sinceConsolidation: since }, episode: null };
  }
  return {
    memory: { items, sinceConsolidation: 0 },
    episode: consolidate(items.slice(-limits.consolidationInterval)),
  };
}

/** Adds an episode, forgetting the oldest beyond `episodicCapacity`. */
export function addEpisode(episodes: readonly Episode[], episode: Episode, limits: MemoryLimits): Episode[] {
  return [...episodes, episode].slice(-limits.episodicCapacity);
}

/** Folds thoughts into one episode. */
export function consolidate(items: readonly MemoryItem[]): Episode {
  const verdicts: Partial<Record<Verdict, number>> = {};
  let sum = 0;
  let salient: MemoryItem | undefined;
  for (const item of items) {
    verdicts[item.verdict] = (verdicts[item.verdict] ?? 0) + 1;
    sum += item.confidence;
    const rank = (i: MemoryItem) => (i.verdict === "NORMAL" ? 0 : 1) * 2 + i.confidence;
    if (!salient || rank(item) > rank(salient)) salient = item;
  }
  return {
    fromMs: Math.min(...items.map((i) => i.ts)),
    toMs: Math.max(...items.map((i) => i.ts)),
    thoughts: items.length,
    verdicts,
    meanConfidence: items.length === 0 ? 0 : Math.round((sum / items.length) * 1e4) / 1e4,
    salient: salient ? `${salient.verdict}: ${salient.summary}` : "",
  };
}
