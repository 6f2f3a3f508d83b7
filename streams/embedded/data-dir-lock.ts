import { randomUUID } from "node:crypto";
import { closeSync, openSync, readFileSync, realpathSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { SpikemeshError } from "../errors.js";
import type { Logger } from "../logger.js";

/** Data dirs this process holds, so a second open in the same process fails too. */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readHolder(path: string): { pid: number; token: string } | undefined {
  try {
    const [pid, token] = readFileSync(path, "utf8").trim().split(" ");
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 ? { pid: n, token: token ?? "" } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An exclusive lock on a data dir: the file `LOCK` holding `<pid> <token>`. A lock whose pid is
 * dead (or is this pid but not held by this process, as after a container restart) is stale and
 * taken over with a warning. Two processes racing to take over the same stale lock in the same
 * millisecond could both win; opening one data dir from several processes is a deployment error.
 */
export class DataDirLock {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly dir: string,
    private readonly token: string,
  ) {}

  /** Takes the lock or throws SpikemeshError CONFIG_INVALID naming the dir and the holder's pid. */
  static acquire(dataDir: string, log: Logger): DataDirLock {
    const dir = realpathSync(dataDir);
    const path = join(dir, "LOCK");
    if (heldHere.has(dir)) {
      throw new SpikemeshError(
        "CONFIG_INVALID",
        `data dir ${dir} is already open in this process (pid ${process.pid}); close the other transport first`,
        { context: { file: path, field: "dataDir" } },
      );
    }
    const token = randomUUID();
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, "wx");
        try {
          writeSync(fd, `${process.pid} ${token}\n`);
        } finally {
          closeSync(fd);
        }
        heldHere.add(dir);
        return new DataDirLock(path, dir, token);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = readHolder(path);
      if (holder !== undefined && holder.pid !== process.pid && isAlive(holder.pid)) {
        throw new SpikemeshError(
          "CONFIG_INVALID",
          `data dir ${dir} is locked by process ${holder.pid} (${path}); stop that process or use another dataDir`,
          { context: { file: path, field: "dataDir" } },
        );
      }
      log.warn({ file: path, stalePid: holder?.pid }, "embedded log: taking over stale lock");
      rmSync(path, { force: true });
    }
    throw new SpikemeshError("CONFIG_INVALID", `cannot lock data dir ${dir}: ${path} keeps reappearing`, {
      context: { file: path, field: "dataDir" },
    });
  }

  /** Removes the lock file if it is still ours. */
  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.dir);
    if (readHolder(this.path)?.token === this.token) rmSync(this.path, { force: true });
  }
}
