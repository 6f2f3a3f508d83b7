import type { Encoder } from "../encoders.js";

export interface TemplateRatesConfig {
  /** Time constant (ms of event time) of the recent line counts: the "now" window. */
  rateFastTauMs: number;
  /** Time constant (ms) of the long-run counts the recent ones are compared with. */
  rateSlowTauMs: number;
  /** Rate score (> 0) of the first level: a stream busier than this is news. */
  rateDeadband: number;
  /** Current one piece of news drives into its neuron (thresholds are 1 at rest). */
  eventCurrent: number;
  /** Lines per source that only train the counts (every template is new at first): no current before. */
  warmupLines: number;
  /** Templates whose counts one source keeps; beyond, the least recently seen is forgotten. */
  maxTemplatesPerSource: number;
}

/** Decayed line counts of one stream of lines (one template of a source, or all of its lines). */
interface RateCell {
  fast: number;
  slow: number;
  lastMs: number;
  /** First line of the stream: the long-run rate is averaged over the time since. */
  firstMs: number;
  /** Highest rate level reached since the score last fell below half the deadband. */
  level: number;
}

type CellTuple = [fast: number, slow: number, lastMs: number, firstMs: number, level: number];

/**
 * Plain-JSON state of one source: its counts as [fast, slow, lastMs, firstMs, level], and per
 * template [id, fast, slow, lastMs, firstMs, level], least recently seen first.
 */
export interface TemplateRatesState {
  lastMs: number | null;
  lines: number;
  total: CellTuple;
  templates: Array<[number, ...CellTuple]>;
}

interface SourceRates {
  lastMs: number;
  lines: number;
  total: RateCell;
  /** Least recently seen first: a Map keeps insertion order and a line re-inserts its template. */
  templates: Map<number, RateCell>;
}

const freshCell = (tMs: number): RateCell => ({ fast: 0, slow: 0, lastMs: tMs, firstMs: tMs, level: 0 });

const freshSource = (): SourceRates => ({
  lastMs: Number.NaN,
  lines: 0,
  total: freshCell(Number.NaN),
  templates: new Map(),
});

const tupleOf = (c: RateCell): CellTuple => [c.fast, c.slow, c.lastMs, c.firstMs, c.level];
const cellOf = ([fast, slow, lastMs, firstMs, level]: CellTuple): RateCell => ({
  fast,
  slow,
  lastMs,
  firstMs,
  level,
});

/**
 * Rate coding of log templates, per source (a key slot): each line is scored on how much more often
 * its template (and, separately, the source as a whole) shows up lately than it usually does, and
 * whether the source ever produced the template before.
 *
 * A rate score compares O, the line count of the last `rateFastTauMs` (exponentially decayed), with
 * E, what the long-run rate (counts decayed over `rateSlowTauMs`, divided by the span they cover
 * since the stream's first line, so a young template or source is not under-estimated) predicts
 * for the same window: z = (O - E) / √max(E, 1), Poisson's spread with a floor. Both counts are
 * taken before the line joins them. A template that arrives in a burst is thus scored against its
 * own short history (the novelty neuron reports it), while a template known for long at a low rate
 * that bursts scores high.
 *
 * Scores are sent on change, like a level-crossing encoder on a log scale: a stream's levels are
 * the deadband and each doubling of it, and a line whose score reaches a level above the stream's
 * highest drives `eventCurrent` once. The stream re-arms when its score falls below half the
 * deadband. So a burst gives news as it starts and as it grows, not on every line while it lasts.
 * Only more lines than usual are news: a template falling silent sends no line to be scored.
 *
 * `encode` returns the template-rate current; `noveltyCurrent`, `volumeCurrent`, `isNovel` and
 * `volumeScore` describe the rest of the line after it.
 */
export class TemplateRateEncoder implements Encoder<number, TemplateRatesState> {
  readonly name = "template-rate";
  score = 0;
  volumeScore = 0;
  /** The last line's template was new to its source (counted during warm-up too). */
  isNovel = false;
  noveltyCurrent = 0;
  volumeCurrent = 0;
  private readonly sources: SourceRates[] = [];

  constructor(private readonly config: TemplateRatesConfig) {}

  addSlot(): number {
    this.sources.push(freshSource());
    return this.sources.length - 1;
  }

  /** Lines the slot has seen (since its last reset). */
  linesOf(slot: number): number {
    return this.sources[slot]?.lines ?? 0;
  }

  /** The slot's newest event time, or undefined before its first line. */
  lastTimeOf(slot: number): number | undefined {
    const last = this.sources[slot]?.lastMs ?? Number.NaN;
    return Number.isNaN(last) ? undefined : last;
  }

  /** Recent (decayed) line count of one template of the slot as of its last line, 0 when unknown. */
  recentLinesOf(slot: number, templateId: number): number {
    return this.sources[slot]?.templates.get(templateId)?.fast ?? 0;
  }

  encode(slot: number, tMs: number, templateId: number): number {
    const s = this.sources[slot];
    if (s === undefined) throw new RangeError(`TemplateRateEncoder: no slot ${slot}`);
    const t = Number.isNaN(s.lastMs) ? tMs : Math.max(tMs, s.lastMs);
    s.lastMs = t;
    const isWarm = s.lines >= this.config.warmupLines;
    let cell = s.templates.get(templateId);
    this.isNovel = cell === undefined;
    if (cell === undefined) {
      cell = freshCell(t);
      if (s.templates.size >= this.config.maxTemplatesPerSource) {
        const oldest = s.templates.keys().next().value;
        if (oldest !== undefined) s.templates.delete(oldest);
      }
    } else s.templates.delete(templateId);
    s.templates.set(templateId, cell);
    this.score = this.rateScore(cell, t);
    this.volumeScore = this.rateScore(s.total, t);
    const rateNews = this.crossesLevel(cell, this.score);
    const volumeNews = this.crossesLevel(s.total, this.volumeScore);
    s.lines++;
    const current = isWarm ? this.config.eventCurrent : 0;
    this.noveltyCurrent = this.isNovel ? current : 0;
    this.volumeCurrent = volumeNews ? current : 0;
    return rateNews && !this.isNovel ? current : 0;
  }

  reset(slot: number): void {
    this.sources[slot] = freshSource();
  }

  snapshot(slot: number): TemplateRatesState {
    const s = this.sources[slot] ?? freshSource();
    // JSON has no NaN: a source's total has its times once it has a line.
    const total = s.lines > 0 ? tupleOf(s.total) : tupleOf(freshCell(0));
    return {
      lastMs: Number.isFinite(s.lastMs) ? s.lastMs : null,
      lines: s.lines,
      total,
      templates: [...s.templates].map(([id, c]) => [id, ...tupleOf(c)]),
    };
  }

  restore(slot: number, state: TemplateRatesState): void {
    if (slot >= this.sources.length) throw new RangeError(`TemplateRateEncoder: no slot ${slot}`);
    this.sources[slot] = {
      lastMs: state.lastMs ?? Number.NaN,
      lines: state.lines,
      total: state.lines > 0 ? cellOf(state.total) : freshCell(Number.NaN),
      templates: new Map(state.templates.map(([id, ...cell]) => [id, cellOf(cell)])),
    };
  }

  /** True when `score` reaches a level above the cell's highest; re-arms below half the deadband. */
  private crossesLevel(cell: RateCell, score: number): boolean {
    const deadband = this.config.rateDeadband;
    if (score < deadband / 2) {
      cell.level = 0;
      return false;
    }
    if (score < deadband) return false;
    const level = 1 + Math.floor(Math.log2(score / deadband));
    if (level <= cell.level) return false;
    cell.level = level;
    return true;
  }

  /** Scores a line against the cell's counts as of `tMs`, then adds it to them. */
  private rateScore(cell: RateCell, tMs: number): number {
    const { rateFastTauMs: tauFast, rateSlowTauMs: tauSlow } = this.config;
    if (Number.isNaN(cell.firstMs)) cell.firstMs = tMs;
    const ageMs = Math.max(0, tMs - cell.firstMs);
    const dt = Number.isNaN(cell.lastMs) ? 0 : Math.max(0, tMs - cell.lastMs);
    const fast = cell.fast * Math.exp(-dt / tauFast);
    const slow = cell.slow * Math.exp(-dt / tauSlow);
    // Spans the decayed counts cover so far: τ(1 - e^(-age/τ)), → τ for an old source.
    const fastSpan = tauFast * -Math.expm1(-ageMs / tauFast);
    const slowSpan = tauSlow * -Math.expm1(-ageMs / tauSlow);
    const expected = slowSpan > 0 ? (slow / slowSpan) * fastSpan : 0;
    cell.fast = fast + 1;
    cell.slow = slow + 1;
    cell.lastMs = Number.isNaN(cell.lastMs) ? tMs : Math.max(tMs, cell.lastMs);
    return (fast - expected) / Math.sqrt(Math.max(expected, 1));
  }
}
