/** A one-line counter on stderr: redrawn in place on a terminal, every 2 s otherwise. */
export function progressLine(label: string): { update(n: number): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(n) {
      const now = Date.now();
      if (now - last < (tty ? 100 : 2_000)) return;
      last = now;
      const text = `${label} ${n.toLocaleString("en-US")} record(s)`;
      if (tty) {
        process.stderr.write(`\r\x1b[2K${text}`);
        shown = true;
      } else process.stderr.write(`${text}\n`);
    },
    done() {
      if (shown) process.stderr.write("\r\x1b[2K");
    },
  };
}
