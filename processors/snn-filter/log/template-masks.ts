/** What the template miner writes for a variable part of a line. */
export const WILDCARD = "<*>";

/**
 * The variable parts the miner masks before it tokenizes, by name. Each pattern is tried at every
 * position in this order; the leftmost match wins (then the earlier name), so the result depends
 * only on the line and the list, never on the history.
 *
 * - `url`: scheme://anything up to whitespace
 * - `uuid`: 8-4-4-4-12 hex digits
 * - `ipv4`: dotted quad with an optional :port
 * - `hex`: 0x-prefixed hex, or a run of 8+ hex digits holding both a digit and a letter
 * - `path`: absolute Unix path (/a/b.c)
 * - `number`: an integer or decimal (optional sign, exponent and a unit of up to 3 letters or %),
 *   not glued to a letter or digit on the left (`node7` stays; `id=7`, `blk_-7` and `12ms` mask)
 */
export const MASK_PATTERNS = {
  url: String.raw`\b[A-Za-z][A-Za-z0-9+.-]*://\S+`,
  uuid: String.raw`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`,
  ipv4: String.raw`(?<![A-Za-z0-9.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![A-Za-z0-9.])`,
  hex: String.raw`\b0[xX][0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b`,
  path: "(?<![A-Za-z0-9.<>*/])(?:/[A-Za-z0-9._@%+~-]+)+/?",
  number: String.raw`(?<![A-Za-z0-9.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:[A-Za-z]{1,3}|%)?(?![A-Za-z0-9.])`,
} as const;

export type MaskName = keyof typeof MASK_PATTERNS;
export const MASK_NAMES = Object.keys(MASK_PATTERNS) as MaskName[];

/**
 * Replaces the variable parts named in `masks` with `<*>` in one pass, then splits on whitespace.
 * An empty list masks nothing.
 */
export class LineMasker {
  private readonly pattern: RegExp | undefined;

  constructor(masks: readonly MaskName[]) {
    const chosen = MASK_NAMES.filter((name) => masks.includes(name));
    this.pattern =
      chosen.length === 0
        ? undefined
        : new RegExp(chosen.map((n) => `(?:${MASK_PATTERNS[n]})`).join("|"), "g");
  }

  /** The line with every masked part replaced by `<*>`. */
  mask(line: string): string {
    return this.pattern === undefined ? line : line.replace(this.pattern, WILDCARD);
  }

  /** The masked line's tokens (split on runs of whitespace; none for a blank line). */
  tokens(line: string): string[] {
    const masked = this.mask(line).trim();
    return masked === "" ? [] : masked.split(/\s+/);
  }
}
