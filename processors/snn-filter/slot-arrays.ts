/**
 * Growth for per-slot state held in typed arrays. Keys map to dense slot indices, so each array is
 * indexed `slot * width + i` and a lookup costs the same with ten keys or a million.
 */

/** Returns `arr` if it already holds `slots * width` entries, else a copy grown to at least that, new entries = `fill`. */
export function grownFloat64(
  arr: Float64Array<ArrayBuffer>,
  slots: number,
  width: number,
  fill: number,
): Float64Array<ArrayBuffer> {
  const needed = slots * width;
  if (arr.length >= needed) return arr;
  let length = Math.max(arr.length, width);
  while (length < needed) length *= 2;
  const next = new Float64Array(length);
  next.set(arr);
  next.fill(fill, arr.length);
  return next;
}

/** JSON has no NaN: "never" and "not yet" times (NaN here) travel as null. */
export function toJsonNumber(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/**
 * Entries `from` to `to` of a typed array as a plain array, through `map` when given (snapshots).
 * A loop: `Array.from` on a subarray goes through the iterator protocol and was most of a
 * checkpoint's snapshot time.
 */
export function sliceToArray(src: Float64Array, from: number, to: number): number[];
export function sliceToArray<T>(src: Float64Array, from: number, to: number, map: (x: number) => T): T[];
export function sliceToArray<T>(
  src: Float64Array,
  from: number,
  to: number,
  map?: (x: number) => T,
): (number | T)[] {
  const out = new Array<number | T>(to - from);
  for (let i = from; i < to; i++) {
    const x = src[i] ?? 0;
    out[i - from] = map === undefined ? x : map(x);
  }
  return out;
}

export function fromJsonNumber(x: number | null | undefined): number {
  return typeof x === "number" && Number.isFinite(x) ? x : Number.NaN;
}

/**
 * exp(-Δt/τ) for one τ, remembering the last Δt: samples mostly arrive at a steady cadence, so the
 * same Δt comes back again and again and the exponential is computed once, not per event.
 */
export class DecayFactor {
  private lastDt = 0;
  private lastFactor = 1;

  constructor(readonly tauMs: number) {}

  /** exp(-dt/τ); 1 for dt ≤ 0. */
  of(dt: number): number {
    if (dt === this.lastDt) return this.lastFactor;
    const f = dt > 0 ? Math.exp(-dt / this.tauMs) : 1;
    this.lastDt = dt;
    this.lastFactor = f;
    return f;
  }
}
