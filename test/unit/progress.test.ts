import { describe, expect, it } from "vitest";
import { type ProgressOut, progressBar, progressLine, statusLine } from "../../cli/progress.js";

function fakeOut(isTTY: boolean): ProgressOut & { text: string } {
  const out = {
    isTTY,
    text: "",
    write(t: string) {
      out.text += t;
      return true;
    },
  };
  return out;
}

describe("progress output", () => {
  it("progressBar fills its cells in proportion and clamps", () => {
    expect(progressBar(0, 10, 10)).toBe("[----------]   0%");
    expect(progressBar(5, 10, 10)).toBe("[#####-----]  50%");
    expect(progressBar(10, 10, 10)).toBe("[##########] 100%");
    expect(progressBar(25, 10, 10)).toBe("[##########] 100%");
    expect(progressBar(3, 0, 4)).toBe("[----]   0%");
  });

  it("not on a terminal: plain lines, at most one per 2 s, no control characters", () => {
    let now = 0;
    const out = fakeOut(false);
    const p = progressLine("replayed", out, () => now);
    p.update(10, 100);
    now = 1_000;
    p.update(20, 100); // within 2 s of the last line: skipped
    now = 2_500;
    p.update(30, 100);
    now = 9_000;
    p.update(1_234_567);
    p.done();
    expect(out.text).toBe(
      "replayed 10/100 record(s)\nreplayed 30/100 record(s)\nreplayed 1,234,567 record(s)\n",
    );
  });

  it("on a terminal: one line redrawn in place with a bar when the total is known, cleared at the end", () => {
    let now = 0;
    const out = fakeOut(true);
    const p = progressLine("replayed", out, () => now);
    p.update(50, 100);
    now = 50; // under 100 ms: not redrawn
    p.update(60, 100);
    now = 200;
    p.update(75, 100);
    p.done();
    const frames = out.text.split("\r\x1b[2K").filter((f) => f !== "");
    expect(frames).toEqual([
      `${progressBar(50, 100)} replayed 50/100 record(s)`,
      `${progressBar(75, 100)} replayed 75/100 record(s)`,
    ]);
    expect(out.text.endsWith("\r\x1b[2K")).toBe(true);
    expect(out.text).not.toContain("\n");
  });

  it("with only the share done known (a file read so far): a bar on a terminal, a percentage off it", () => {
    let now = 0;
    const tty = fakeOut(true);
    const onTty = progressLine("replayed", tty, () => now);
    onTty.update(1_000, undefined, 0.25);
    expect(tty.text).toBe(`\r\x1b[2K${progressBar(25, 100)} replayed 1,000 record(s)`);
    const plain = fakeOut(false);
    const offTty = progressLine("recorded", plain, () => now);
    offTty.update(1_000, undefined, 0.257);
    now = 3_000;
    offTty.update(4_000, undefined, 1.2);
    expect(plain.text).toBe("recorded 1,000 record(s) (25%)\nrecorded 4,000 record(s) (100%)\n");
  });

  it("statusLine clears nothing when nothing was drawn", () => {
    const out = fakeOut(true);
    statusLine(out).done();
    expect(out.text).toBe("");
  });
});
