const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "250ms", "10s", "90m", "6h", "1d" or a bare number of milliseconds → milliseconds (> 0). */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  const ms = match ? Number(match[1]) * (UNITS[match[2] ?? "ms"] ?? 1) : Number.NaN;
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new Error(`expected a positive duration such as 250ms, 10s, 90m or 6h, got "${text}"`);
  }
  return Math.round(ms);
}
