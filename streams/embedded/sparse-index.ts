/**
 * A segment's in-memory offset → file position index: one entry every `intervalBytes` of the
 * file, in two growable Float64Arrays (16 bytes an entry, ~16 k entries for a 64 MiB segment).
 * A lookup finds the last entry at or below an offset; the reader scans forward from there.
 */
export class SparseIndex {
  private offsets: Float64Array;
  private positions: Float64Array;
  private length = 0;
  private lastPosition = Number.NEGATIVE_INFINITY;

  /** @param intervalBytes Minimum file distance between entries. Default 4096. */
  constructor(private readonly intervalBytes = 4096) {
    this.offsets = new Float64Array(64);
    this.positions = new Float64Array(64);
  }

  get size(): number {
    return this.length;
  }

  /** Records that the frame of `offset` starts at `position`, if far enough from the last entry. */
  maybeAdd(offset: number, position: number): void {
    if (position - this.lastPosition < this.intervalBytes) return;
    if (this.length === this.offsets.length) this.grow();
    this.offsets[this.length] = offset;
    this.positions[this.length] = position;
    this.length++;
    this.lastPosition = position;
  }

  /** File position to start scanning from to find `offset`; 0 when before the first entry. */
  floorPosition(offset: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid]! <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? 0 : this.positions[found]!;
  }

  /** Drops every entry at or beyond `position` (after a truncation). */
  truncateAt(position: number): void {
    while (this.length > 0 && this.positions[this.length - 1]! >= position) this.length--;
    this.lastPosition = this.length === 0 ? Number.NEGATIVE_INFINITY : this.positions[this.length - 1]!;
  }

  private grow(): void {
    const offsets = new Float64Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    const positions = new Float64Array(this.positions.length * 2);
    positions.set(this.positions);
    this.offsets = offsets;
    this.positions = positions;
  }
}
