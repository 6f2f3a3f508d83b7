import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { crc32 } from "node:zlib";
import { describeError, SpikemeshError } from "../errors.js";
import type { Logger } from "../logger.js";

const HEADER_BYTES = 8;

function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, HEADER_BYTES);
  return out;
}

function writeAll(fd: number, buf: Buffer, position: number, path: string): void {
  try {
    const written = writeSync(fd, buf, 0, buf.length, position);
    if (written !== buf.length) throw new Error(`short write: ${written} of ${buf.length} bytes`);
  } catch (err) {
    throw new SpikemeshError("TRANSIENT", `cannot write ${path}: ${describeError(err)}`, {
      retriable: true,
      cause: err,
      context: { file: path },
    });
  }
}

/**
 * A small append-only file of CRC-checked entries (`u32 length | u32 crc32 | payload`), used for
 * committed offsets and the transaction journal. Opening drops a torn tail with a warning.
 */
export class FramedFile {
  private size: number;

  private constructor(
    readonly path: string,
    private fd: number,
    size: number,
    private readonly fsync: boolean,
  ) {
    this.size = size;
  }

  /** Opens or creates `path` and returns it with the payloads of its intact entries. */
  static open(path: string, fsync: boolean, log: Logger): { file: FramedFile; entries: Buffer[] } {
    // A rewrite that died before its rename leaves only this; the original is intact.
    rmSync(`${path}.tmp`, { force: true });
    const fd = openSync(path, "a+");
    const data = readFileSync(path);
    const entries: Buffer[] = [];
    let pos = 0;
    while (pos + HEADER_BYTES <= data.length) {
      const length = data.readUInt32LE(pos);
      const end = pos + HEADER_BYTES + length;
      if (end > data.length) break;
      const payload = data.subarray(pos + HEADER_BYTES, end);
      if (crc32(payload) !== data.readUInt32LE(pos + 4)) break;
      entries.push(payload);
      pos = end;
    }
    if (pos < data.length) {
      log.warn(
        { file: path, validBytes: pos, droppedBytes: data.length - pos },
        "embedded log: truncating torn tail of file",
      );
      ftruncateSync(fd, pos);
    }
    closeSync(fd);
    return { file: new FramedFile(path, openSync(path, "r+"), pos, fsync), entries };
  }

  /** Bytes in the file. */
  get sizeBytes(): number {
    return this.size;
  }

  /** Appends one entry with a single write. */
  append(payload: Buffer): void {
    const buf = frame(payload);
    writeAll(this.fd, buf, this.size, this.path);
    if (this.fsync) fdatasyncSync(this.fd);
    this.size += buf.length;
  }

  /** Replaces the whole content atomically (temp file + rename). */
  rewrite(payloads: readonly Buffer[]): void {
    const tmp = `${this.path}.tmp`;
    const buf = Buffer.concat(payloads.map(frame));
    const fd = openSync(tmp, "w");
    try {
      writeAll(fd, buf, 0, tmp);
      if (this.fsync) fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    closeSync(this.fd);
    this.fd = openSync(this.path, "r+");
    this.size = fstatSync(this.fd).size;
  }

  /** Empties the file. */
  clear(): void {
    ftruncateSync(this.fd, 0);
    if (this.fsync) fdatasyncSync(this.fd);
    this.size = 0;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
