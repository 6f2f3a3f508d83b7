const TWO_POW_32 = 2 ** 32;

/**
 * What a cumulative kernel counter did between two reads: how much it grew, or `null` when it went
 * backwards and the growth cannot be known.
 *
 * - `cur >= prev`: grew by `cur - prev`.
 * - `cur < prev` with `prev` below 2^32: a 32-bit counter (some NIC drivers, `io_ticks` on older
 *   kernels) that wrapped; the growth is `2^32 - prev + cur` when that is under 2^31, i.e. less
 *   than half the counter's range went by in one interval. Otherwise it is a reset.
 * - any other decrease: a reset (device re-attached, driver reloaded, 64-bit counter restarted).
 *   The growth since the reset is unknown, so no rate is computed for that interval rather than a
 *   made-up one that would look like a burst.
 */
export function counterDelta(prev: number, cur: number): number | null {
  if (cur >= prev) return cur - prev;
  if (prev < TWO_POW_32 && cur < TWO_POW_32) {
    const wrapped = TWO_POW_32 - prev + cur;
    if (wrapped < 2 ** 31) return wrapped;
  }
  return null;
}

/**
 * Sums the growth of per-device counters between two reads, over the devices present in both (a
 * device that appeared or vanished contributes nothing rather than its whole count). `resets`
 * counts devices whose counter went backwards; their growth is left out.
 */
export function sumDeltas<T>(
  prev: ReadonlyMap<string, T>,
  cur: ReadonlyMap<string, T>,
  read: (item: T) => number,
): { delta: number; devices: number; resets: number } {
  let delta = 0;
  let devices = 0;
  let resets = 0;
  for (const [name, item] of cur) {
    const before = prev.get(name);
    if (before === undefined) continue;
    const d = counterDelta(read(before), read(item));
    if (d === null) resets++;
    else {
      delta += d;
      devices++;
    }
  }
  return { delta, devices, resets };
}
