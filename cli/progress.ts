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
 * progress bar in front on a terminal.
 */
export function progressLine(
  label: string,
  out: ProgressOut = process.stderr,
  now: () => number = Date.now,
): { update(n: number, total?: number): void; done(): void } {
  const line = statusLine(out, now);
  return {
    update(n, total) {
      const count =
        total === undefined
          ? n.toLocaleString("en-US")
          : `${n.toLocaleString("en-US")}/${total.toLocaleString("en-US")}`;
      const text = `${label} ${count} record(s)`;
      line.show(total !== undefined && out.isTTY === true ? `${progressBar(n, total)} ${text}` : text);
    },
    done: line.done,
  };
}
