import type { Encoder } from "../encoders.js";

export interface TemplateRatesConfig {
  /** Time constant (ms of event time) of the recent line counts: the "now" window. */
  rateFastTauMs: number;
  /** Time constant (ms) of the long-run counts the recent ones are compared with. */
  rateSlowTauMs: number;
  /** A rate score up to this drives no current; above it the current is score - rateDeadband. */
  rateDeadband: number;
  /** Current a line of a template the source never produced before drives (thresholds are 1 at rest). */
  noveltyCurrent: number;
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
}

/** Plain-JSON state of one source: counts per template as [id, fast, slow, lastMs], least recent first. */
export interface TemplateRatesState {
  firstMs: number | null;
  lastMs: number | null;
  lines: number;
  total: [number, number, number];
  templates: Array<[number, number, number, number]>;
}

interface SourceRates {
  firstMs: number;
  lastMs: number;
  lines: number;
  total: RateCell;
  /** Least recently seen first: a Map keeps insertion order and a line re-inserts its template. */
  templates: Map<number, RateCell>;
}

const freshSource = (): SourceRates => ({
  firstMs: Number.NaN,
  lastMs: Number.NaN,
  lines: 0,
  total: { fast: 0, slow: 0, lastMs: Number.NaN },
  templates: new Map(),
});

/**
 * Rate coding of log templates, per source (a key slot): each line is scored on how much more often
 * its template (and, separately, the source as a whole) shows up lately than it usually does, and
 * whether the source ever produced the template before.
 *
 * A rate score compares O, the line count of the last `rateFastTauMs` (exponentially decayed), with
 * E, what the long-run rate (counts decayed over `rateSlowTauMs`, divided by the span they cover,
 * so a young source is not under-estimated) predicts for the same window: z = (O - E) / √max(E, 1),
 * Poisson's spread with a floor. Both counts are taken before the line joins them. Only more lines
 * than usual drive current: a template falling silent sends no line to be scored.
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
    if (Number.isNaN(s.firstMs)) s.firstMs = tMs;
    const t = Number.isNaN(s.lastMs) ? tMs : Math.max(tMs, s.lastMs);
    s.lastMs = t;
    const ageMs = t - s.firstMs;
    const isWarm = s.lines >= this.config.warmupLines;
    let cell = s.templates.get(templateId);
    this.isNovel = cell === undefined;
    if (cell === undefined) {
      cell = { fast: 0, slow: 0, lastMs: t };
      if (s.templates.size >= this.config.maxTemplatesPerSource) {
        const oldest = s.templates.keys().next().value;
        if (oldest !== undefined) s.templates.delete(oldest);
      }
    } else s.templates.delete(templateId);
    s.templates.set(templateId, cell);
    this.score = this.rateScore(cell, t, ageMs);
    this.volumeScore = this.rateScore(s.total, t, ageMs);
    s.lines++;
    const { rateDeadband } = this.config;
    this.noveltyCurrent = isWarm && this.isNovel ? this.config.noveltyCurrent : 0;
    this.volumeCurrent = isWarm ? Math.max(0, this.volumeScore - rateDeadband) : 0;
    return isWarm && !this.isNovel ? Math.max(0, this.score - rateDeadband) : 0;
  }

  reset(slot: number): void {
    this.sources[slot] = freshSource();
  }

  snapshot(slot: number): TemplateRatesState {
    const s = this.sources[slot] ?? freshSource();
    const json = (x: number) => (Number.isFinite(x) ? x : null);
    return {
      firstMs: json(s.firstMs),
      lastMs: json(s.lastMs),
      lines: s.lines,
      total: [s.total.fast, s.total.slow, s.total.lastMs],
      templates: [...s.templates].map(([id, c]) => [id, c.fast, c.slow, c.lastMs]),
    };
  }

  restore(slot: number, state: TemplateRatesState): void {
    if (slot >= this.sources.length) throw new RangeError(`TemplateRateEncoder: no slot ${slot}`);
    const [fast, slow, lastMs] = state.total;
    this.sources[slot] = {
      firstMs: state.firstMs ?? Number.NaN,
      lastMs: state.lastMs ?? Number.NaN,
      lines: state.lines,
      total: { fast, slow, lastMs },
      templates: new Map(
        state.templates.map(([id, f, sl, last]) => [id, { fast: f, slow: sl, lastMs: last }]),
      ),
    };
  }

  /** Scores a line against the cell's counts as of `tMs`, then adds it to them. */
  private rateScore(cell: RateCell, tMs: number, ageMs: number): number {
    const { rateFastTauMs: tauFast, rateSlowTauMs: tauSlow } = this.config;
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
