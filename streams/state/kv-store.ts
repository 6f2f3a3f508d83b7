import type { KeyValueStore } from "../topology/processor.js";

/**
 * An in-memory store that remembers which keys changed since the last flush, so the runtime can
 * write exactly those to the store's compacted changelog before committing input offsets.
 */
export class ChangeloggedStore<V> implements KeyValueStore<V> {
  private readonly data = new Map<string, V>();
  private readonly dirty = new Set<string>();

  get size(): number {
    return this.data.size;
  }

  get(key: string): V | undefined {
    return this.data.get(key);
  }

  put(key: string, value: V): void {
    this.data.set(key, value);
    this.dirty.add(key);
  }

  delete(key: string): void {
    this.data.delete(key);
    this.dirty.add(key);
  }

  entries(): IterableIterator<[string, V]> {
    return this.data.entries();
  }

  /** Changed entries since the last call; `undefined` means deleted (a tombstone). */
  takeChanges(): Array<[string, V | undefined]> {
    const out: Array<[string, V | undefined]> = [];
    for (const key of this.dirty) out.push([key, this.data.get(key)]);
    this.dirty.clear();
    return out;
  }

  /** Applies one changelog entry during restore; does not mark the key dirty. */
  restore(key: string, value: V | undefined): void {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, value);
  }
}

/** Changelog values are JSON; a null value is a tombstone. */
export function encodeStoreValue(value: unknown): Buffer | null {
  return value === undefined ? null : Buffer.from(JSON.stringify(value));
}

export function decodeStoreValue<V>(bytes: Buffer | null): V | undefined {
  return bytes === null ? undefined : (JSON.parse(bytes.toString("utf8")) as V);
}
