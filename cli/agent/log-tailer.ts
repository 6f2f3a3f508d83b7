import { type FileHandle, open, stat } from "node:fs/promises";
import type { LogEvent, LogLevel } from "../../schemas/index.js";

export interface LogTailerOptions {
  path: string;
  /** `source` of the events. */
  source: string;
  /** Start at the beginning of the file rather than at its end (default: only what is appended). */
  fromStart?: boolean;
  /** Longer lines are cut to this many bytes and marked. Default 16 KiB. */
  maxLineBytes?: number;
  /** Bytes read per poll at most, so one huge append cannot stall a sampling tick. Default 4 MiB. */
  maxBytesPerPoll?: number;
}

/** What one poll saw besides lines: rotation (a new file under the path) and truncation (copytruncate). */
export interface TailPoll {
  events: LogEvent[];
  rotated: boolean;
  truncated: boolean;
  /** The path is gone (between a rotation's rename and the new file's creation); polling goes on. */
  missing: boolean;
}

const NEWLINE = 0x0a;
const CHUNK_BYTES = 64 * 1024;

/**
 * Follows one log file like `tail -F`: each complete appended line becomes a LogEvent.
 *
 * - Rotation by rename (logrotate's default): the old file is read to its end through the handle
 *   still open on it, its last unterminated line is emitted, then the new file under the path is
 *   read from its start.
 * - Truncation in place (logrotate's copytruncate, `> file`): the size drops below the read
 *   position, so reading restarts at 0; a partial line held from before is emitted first.
 * - A missing path after start is waited for; lines are never dropped silently: a line longer than
 *   `maxLineBytes` is cut and its event carries `truncated: <original bytes>`.
 */
export class LogTailer {
  private handle: FileHandle | undefined;
  private ino = -1;
  private position = 0;
  private partial: Buffer = Buffer.alloc(0);
  /** Bytes of the current over-long line not kept (0 when not inside one). */
  private overflow = 0;
  private readonly maxLineBytes: number;
  private readonly maxBytesPerPoll: number;

  constructor(private readonly options: LogTailerOptions) {
    this.maxLineBytes = options.maxLineBytes ?? 16 * 1024;
    this.maxBytesPerPoll = options.maxBytesPerPoll ?? 4 * 1024 * 1024;
  }

  get path(): string {
    return this.options.path;
  }

  /** Opens the file; throws (ENOENT, EACCES) when it cannot be read, so a bad path fails at start. */
  async start(): Promise<void> {
    const handle = await open(this.options.path, "r");
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      throw new Error(`${this.options.path}: not a regular file`);
    }
    this.handle = handle;
    this.ino = st.ino;
    this.position = this.options.fromStart ? 0 : st.size;
  }

  /** Reads what was appended since the last poll; `nowMs` stamps the events. */
  async poll(nowMs: number): Promise<TailPoll> {
    const out: TailPoll = { events: [], rotated: false, truncated: false, missing: false };
    if (!this.handle) await this.start();
    const handle = this.handle!;
    const size = (await handle.stat()).size;
    if (size < this.position) {
      out.truncated = true;
      this.flushPartial(out.events, nowMs);
      this.position = 0;
    }
    const budget = await this.readAvailable(handle, out.events, nowMs, this.maxBytesPerPoll);
    let current: Awaited<ReturnType<typeof stat>>;
    try {
      current = await stat(this.options.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      out.missing = true;
      return out;
    }
    // Rotated: switch once the old file is read to its end (else finish it on the next polls).
    if (current.ino !== this.ino && budget > 0) {
      out.rotated = true;
      this.flushPartial(out.events, nowMs);
      await handle.close();
      this.handle = await open(this.options.path, "r");
      this.ino = (await this.handle.stat()).ino;
      this.position = 0;
      await this.readAvailable(this.handle, out.events, nowMs, budget);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }

  /** Reads up to `budget` bytes from the position; returns the budget left (0: stopped early). */
  private async readAvailable(
    handle: FileHandle,
    events: LogEvent[],
    nowMs: number,
    budget: number,
  ): Promise<number> {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    while (budget > 0) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(CHUNK_BYTES, budget), this.position);
      if (bytesRead === 0) return budget;
      this.position += bytesRead;
      budget -= bytesRead;
      this.take(buf.subarray(0, bytesRead), events, nowMs);
    }
    return 0;
  }

  private take(chunk: Buffer, events: LogEvent[], nowMs: number): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      this.append(chunk.subarray(start, nl));
      this.emit(events, nowMs);
      start = nl + 1;
    }
    this.append(chunk.subarray(start));
  }

  private append(piece: Buffer): void {
    const room = this.maxLineBytes - this.partial.length;
    if (piece.length <= room) {
      this.partial = Buffer.concat([this.partial, piece]);
      return;
    }
    if (room > 0) this.partial = Buffer.concat([this.partial, piece.subarray(0, room)]);
    this.overflow += piece.length - Math.max(0, room);
  }

  private flushPartial(events: LogEvent[], nowMs: number): void {
    if (this.partial.length > 0 || this.overflow > 0) this.emit(events, nowMs);
  }

  private emit(events: LogEvent[], nowMs: number): void {
    const kept = this.partial;
    const overflow = this.overflow;
    this.partial = Buffer.alloc(0);
    this.overflow = 0;
    const message = kept.toString("utf8").replace(/\r$/, "");
    if (message.trim() === "" && overflow === 0) return;
    events.push({
      ts: nowMs,
      source: this.options.source,
      level: levelOf(message),
      message,
      fields: {
        file: this.options.path,
        ...(overflow > 0 ? { truncated: String(kept.length + overflow) } : {}),
      },
    });
  }
}

const LEVEL_WORD =
  /\b(TRACE|DEBUG|INFO|NOTICE|WARN(?:ING)?|ERR(?:OR)?|CRIT(?:ICAL)?|ALERT|EMERG|FATAL|PANIC)\b/i;

/** The severity a line names first (syslog's and common loggers' words), INFO when it names none. */
export function levelOf(line: string): LogLevel {
  const word = LEVEL_WORD.exec(line)?.[1]?.toUpperCase();
  switch (word) {
    case "TRACE":
      return "TRACE";
    case "DEBUG":
      return "DEBUG";
    case "WARN":
    case "WARNING":
      return "WARN";
    case "ERR":
    case "ERROR":
      return "ERROR";
    case "CRIT":
    case "CRITICAL":
    case "ALERT":
    case "EMERG":
    case "FATAL":
    case "PANIC":
      return "FATAL";
    default:
      return "INFO";
  }
}
