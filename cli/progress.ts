/** Where progress goes: stderr, or a stand-in in tests. */
export interface ProgressOut {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * One line of progress: on a terminal redrawn in place (at most every 100 ms), otherwise a plain
 * line at most every 2 s, so logs and CI output get a steady trickle rather than a flood.
 */
export function statusLine(
  out: ProgressOut = process.stderr,
  now: () => number = Date.now,
): { show(text: string): void; done(): void } {
  const tty = out.isTTY === true;
  let last = Number.NEGATIVE_INFINITY;
  let shown = false;
  return {
    show(text) {
      const t = now();
      if (t - last < (tty ? 100 : 2_000)) return;
      last = t;
      if (tty) {
        out.write(`\r\x1b[2K${text}`);
        shown = true;
      } else out.write(`${text}\n`);
    },
    done() {
      if (shown) out.write("\r\x1b[2K");
    },
  };
}

/** `[#########---------------]  37%`: a bar of `width` cells for `done` of `total`. */
export function progressBar(done: number, total: number, width = 24): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(ratio * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%`;
}

/**
 * A record counter: `label N record(s)`, or `label N/T record(s)` when the total is known, with a
 * progress bar in front on a terminal when the total or the share done (`fraction`, 0 to 1: e.g. of
 * a file read) is known; off a terminal the plain line gets the percentage instead.
 */
export function progressLine(
  label: string,
  out: ProgressOut = process.stderr,
  now: () => number = Date.now,
): { update(n: number, total?: number, fraction?: number): void; done(): void } {
  const line = statusLine(out, now);
  return {
    update(n, total, fraction) {
      const count =
        total === undefined
          ? n.toLocaleString("en-US")
          : `${n.toLocaleString("en-US")}/${total.toLocaleString("en-US")}`;
      const text = `${label} ${count} record(s)`;
      const share = total !== undefined ? (total > 0 ? n / total : 0) : fraction;
      if (share === undefined) line.show(text);
      else if (out.isTTY === true) line.show(`${progressBar(share, 1)} ${text}`);
      else line.show(total !== undefined ? text : `${text} (${Math.floor(Math.min(1, share) * 100)}%)`);
    },
    done: line.done,
  };
}
