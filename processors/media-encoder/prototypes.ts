import type { NoveltyOptions } from "./options.js";

/** Plain-JSON state of one key: its prototypes (unit vectors) and, for audio, the last frame's spectrum. */
export interface PrototypeState {
  version: 1;
  dims: number;
  prototypes: number[][];
  /** Magnitudes of the last audio frame seen (spectral flux across clips); null for images. */
  lastMagnitudes: number[] | null;
}

interface KeyPrototypes {
  dims: number;
  prototypes: Float64Array[];
  lastMagnitudes: Float32Array | null;
}

/** What `observe` found: the novelty, or that the embedding cannot be compared. */
export type NoveltyResult =
  | { ok: true; novelty: number | null }
  | { ok: false; problem: "dims" | "non_finite"; detail: string };

/**
 * Running prototypes per key (source and kind): up to `prototypes` unit vectors, an online k-means
 * in cosine geometry. An embedding's novelty is its cosine distance (1 − cos, in [0, 2]) to the
 * nearest prototype; then the nearest moves toward it by `rate` (and is renormalised), or, when the
 * embedding is at least `spawnDistance` from all of them and there is room, it becomes a new
 * prototype. A steady scene stays near one prototype (novelty ~0); something new is far from all of
 * them once, then it has a prototype of its own.
 */
export class PrototypeMemory {
  private readonly keys = new Map<string, KeyPrototypes>();

  constructor(private readonly opts: NoveltyOptions) {}

  get keyCount(): number {
    return this.keys.size;
  }

  /** The embedding's novelty for `key` (null for the key's first embedding), then learns it. */
  observe(key: string, embedding: ArrayLike<number>): NoveltyResult {
    const unit = new Float64Array(embedding.length);
    let norm = 0;
    for (let i = 0; i < embedding.length; i++) {
      const v = embedding[i]!;
      if (!Number.isFinite(v)) return { ok: false, problem: "non_finite", detail: `value ${i} is ${v}` };
      unit[i] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    if (norm > 0) for (let i = 0; i < unit.length; i++) unit[i] = unit[i]! / norm;
    let state = this.keys.get(key);
    if (state && state.prototypes.length > 0 && state.dims !== unit.length) {
      return {
        ok: false,
        problem: "dims",
        detail: `embedding has ${unit.length} values, this source's prototypes have ${state.dims}`,
      };
    }
    if (!state || state.prototypes.length === 0) {
      state = state ?? { dims: unit.length, prototypes: [], lastMagnitudes: null };
      state.dims = unit.length;
      state.prototypes.push(unit);
      this.keys.set(key, state);
      return { ok: true, novelty: null };
    }
    let best = Number.POSITIVE_INFINITY;
    let nearest = 0;
    state.prototypes.forEach((p, i) => {
      const d = cosineDistance(p, unit, norm === 0);
      if (d < best) {
        best = d;
        nearest = i;
      }
    });
    if (best >= this.opts.spawnDistance && state.prototypes.length < this.opts.prototypes) {
      state.prototypes.push(unit);
    } else {
      const p = state.prototypes[nearest]!;
      let n = 0;
      for (let i = 0; i < p.length; i++) {
        p[i] = p[i]! + this.opts.rate * (unit[i]! - p[i]!);
        n += p[i]! * p[i]!;
      }
      n = Math.sqrt(n);
      if (n > 0) for (let i = 0; i < p.length; i++) p[i] = p[i]! / n;
    }
    return { ok: true, novelty: best };
  }

  lastMagnitudes(key: string): Float32Array | null {
    return this.keys.get(key)?.lastMagnitudes ?? null;
  }

  setLastMagnitudes(key: string, magnitudes: Float32Array): void {
    const state = this.keys.get(key);
    if (state) state.lastMagnitudes = magnitudes;
    else this.keys.set(key, { dims: 0, prototypes: [], lastMagnitudes: magnitudes });
  }

  snapshot(key: string): PrototypeState | undefined {
    const state = this.keys.get(key);
    if (!state) return undefined;
    return {
      version: 1,
      dims: state.dims,
      prototypes: state.prototypes.map((p) => Array.from(p)),
      lastMagnitudes: state.lastMagnitudes ? Array.from(state.lastMagnitudes) : null,
    };
  }

  /** Loads a key's state; false (and nothing loaded) when it is not a state this class wrote. */
  restore(key: string, raw: unknown): boolean {
    const s = raw as Partial<PrototypeState> | null;
    if (s?.version !== 1 || typeof s.dims !== "number" || !Array.isArray(s.prototypes)) return false;
    const dims = s.dims;
    const isVector = (v: unknown, n: number) =>
      Array.isArray(v) && v.length === n && v.every((x) => typeof x === "number" && Number.isFinite(x));
    if (!s.prototypes.every((p) => isVector(p, dims))) return false;
    if (s.lastMagnitudes != null && !isVector(s.lastMagnitudes, s.lastMagnitudes.length)) return false;
    this.keys.set(key, {
      dims: s.prototypes.length === 0 ? 0 : dims,
      prototypes: s.prototypes.slice(0, this.opts.prototypes).map((p) => Float64Array.from(p)),
      lastMagnitudes: s.lastMagnitudes ? Float32Array.from(s.lastMagnitudes) : null,
    });
    return true;
  }
}

/** 1 − cos between a unit (or zero) prototype and a unit (or zero) embedding; two zero vectors are 0 apart. */
function cosineDistance(p: Float64Array, unit: Float64Array, isZero: boolean): number {
  let dot = 0;
  let pn = 0;
  for (let i = 0; i < p.length; i++) {
    dot += p[i]! * unit[i]!;
    pn += p[i]! * p[i]!;
  }
  if (isZero && pn === 0) return 0;
  return Math.min(2, Math.max(0, 1 - dot));
}
