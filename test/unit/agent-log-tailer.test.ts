import { appendFileSync, renameSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LogTailer, levelOf } from "../../cli/agent/log-tailer.js";
import { tempDir } from "./helpers/temp-dir.js";

describe("LogTailer on real files", () => {
  let dir: string;
  let remove: () => Promise<void>;
  let path: string;
  const tailers: LogTailer[] = [];
  const tailer = (opts: Partial<ConstructorParameters<typeof LogTailer>[0]> = {}) => {
    const t = new LogTailer({ path, source: "web-1", ...opts });
    tailers.push(t);
    return t;
  };
  const messages = async (t: LogTailer, now = 1_000) => (await t.poll(now)).events.map((e) => e.message);

  beforeEach(async () => {
    ({ dir, remove } = await tempDir("spikemesh-tail-"));
    path = join(dir, "app.log");
    writeFileSync(path, "old line 1\nold line 2\n");
  });
  afterEach(async () => {
    for (const t of tailers.splice(0)) await t.close();
    await remove();
  });

  it("follows appended lines only (like tail -F), or the whole file with fromStart", async () => {
    const t = tailer();
    await t.start();
    expect(await messages(t)).toEqual([]);
    appendFileSync(path, "ERROR disk full on /var\nplain line\n");
    const { events } = await t.poll(42);
    expect(events).toEqual([
      {
        ts: 42,
        source: "web-1",
        level: "ERROR",
        message: "ERROR disk full on /var",
        fields: { file: path },
      },
      { ts: 42, source: "web-1", level: "INFO", message: "plain line", fields: { file: path } },
    ]);
    const all = tailer({ fromStart: true });
    await all.start();
    expect(await messages(all)).toEqual([
      "old line 1",
      "old line 2",
      "ERROR disk full on /var",
      "plain line",
    ]);
  });

  it("holds a partial line until its newline arrives; CRLF and blank lines", async () => {
    const t = tailer();
    await t.start();
    appendFileSync(path, "half of a ");
    expect(await messages(t)).toEqual([]);
    appendFileSync(path, "line\r\n\n   \nnext\n");
    expect(await messages(t)).toEqual(["half of a line", "next"]);
  });

  it("rotation by rename: the old file is read to its end, then the new one from its start", async () => {
    const t = tailer();
    await t.start();
    appendFileSync(path, "before rotation\nunterminated tail");
    renameSync(path, `${path}.1`);
    appendFileSync(`${path}.1`, " written late\n"); // a writer still holding the old file
    const gone = await t.poll(1);
    expect(gone.missing).toBe(true);
    expect(gone.events.map((e) => e.message)).toEqual(["before rotation", "unterminated tail written late"]);
    writeFileSync(path, "first in new file\n");
    const next = await t.poll(2);
    expect(next.rotated).toBe(true);
    expect(next.events.map((e) => e.message)).toEqual(["first in new file"]);
    appendFileSync(path, "second in new file\n");
    expect(await messages(t)).toEqual(["second in new file"]);
  });

  it("a rotation that leaves an unterminated line emits it before switching files", async () => {
    const t = tailer();
    await t.start();
    appendFileSync(path, "no newline at the end");
    renameSync(path, `${path}.1`);
    writeFileSync(path, "new\n");
    const polled = await t.poll(1);
    expect(polled.rotated).toBe(true);
    expect(polled.events.map((e) => e.message)).toEqual(["no newline at the end", "new"]);
  });

  it("truncation in place (copytruncate): reading restarts at the start of the file", async () => {
    const t = tailer();
    await t.start();
    appendFileSync(path, "one\n");
    expect(await messages(t)).toEqual(["one"]);
    truncateSync(path, 0);
    appendFileSync(path, "after truncate\n");
    const polled = await t.poll(3);
    expect(polled.truncated).toBe(true);
    expect(polled.events.map((e) => e.message)).toEqual(["after truncate"]);
  });

  it("an over-long line is cut and marked with its original size, not dropped", async () => {
    const t = tailer({ maxLineBytes: 256 });
    await t.start();
    appendFileSync(path, `${"x".repeat(1_000)}\nshort\n`);
    const { events } = await t.poll(5);
    expect(events).toHaveLength(2);
    expect(events[0]!.message).toBe("x".repeat(256));
    expect(events[0]!.fields).toEqual({ file: path, truncated: "1000" });
    expect(events[1]!.message).toBe("short");
  });

  it("a long append is read over several polls when over the per-poll budget", async () => {
    const t = tailer({ maxBytesPerPoll: 1_000 });
    await t.start();
    const lines = Array.from({ length: 300 }, (_, i) => `line ${String(i).padStart(4, "0")}`);
    appendFileSync(path, `${lines.join("\n")}\n`);
    const seen: string[] = [];
    for (let i = 0; i < 10 && seen.length < lines.length; i++) seen.push(...(await messages(t)));
    expect(seen).toEqual(lines);
  });

  it("a missing file fails at start with the OS's reason", async () => {
    unlinkSync(path);
    await expect(tailer().start()).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("levelOf", () => {
  it.each([
    ["2026-11-23T10:00:00Z ERROR connection refused", "ERROR"],
    ["[warn] slow query", "WARN"],
    ["kernel: WARNING: CPU: 1 PID: 0", "WARN"],
    ["systemd[1]: Failed to start, err=2", "ERROR"],
    ["FATAL: out of memory", "FATAL"],
    ["nginx: [crit] worker died", "FATAL"],
    ["DEBUG cache hit", "DEBUG"],
    ["GET /health 200", "INFO"],
    ["informational", "INFO"],
  ])("%s → %s", (line, level) => {
    expect(levelOf(line)).toBe(level);
  });
});
