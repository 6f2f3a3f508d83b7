/** The label value that stands for every value a LabelValues refuses. */
export const OTHER_LABEL = "other";

const LABEL_VALUE = /^[A-Za-z0-9._:>-]{1,64}$/;

/**
 * Label values taken from record data (a tier or route named in a record), kept bounded: a value
 * is used as is while it is short, made of name characters, and one of the first `max` distinct
 * values seen; anything else is counted under "other". Records from hostile producers then cannot
 * grow a metric's series (memory, /metrics size, Prometheus) without bound.
 */
export class LabelValues {
  private readonly seen = new Set<string>();

  /** @param max distinct values kept before the rest become "other". Default 64. */
  constructor(private readonly max = 64) {}

  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (!LABEL_VALUE.test(value) || this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(value);
    return value;
  }
}
