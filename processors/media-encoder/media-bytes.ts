import { constants, realpathSync } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { MediaEvent } from "../../schemas/index.js";
import { reject } from "./media-rejection.js";

export interface MediaBytesLimits {
  maxInlineBytes: number;
  maxFileBytes: number;
  /** Directories file URIs may point into; empty: anywhere. */
  fileRoots: readonly string[];
}

/**
 * The media's bytes: inline `data` up to `maxInlineBytes`, or the local file a `file:` URI names,
 * up to `maxFileBytes` (its size is checked before it is read). Exactly one of `data` and `uri`
 * must be set. Throws MediaRejection (no_media, too_large, bad_uri, missing_file).
 */
export async function mediaBytes(event: MediaEvent, limits: MediaBytesLimits): Promise<Buffer> {
  if (event.data !== null && event.uri !== null) {
    throw reject("no_media", "both data and uri are set; send one");
  }
  if (event.data !== null) {
    if (event.data.length === 0) throw reject("no_media", "data is empty");
    if (event.data.length > limits.maxInlineBytes) {
      throw reject(
        "too_large",
        `inline data is ${event.data.length} bytes, over maxInlineBytes ${limits.maxInlineBytes}; send larger media by file URI`,
      );
    }
    return event.data;
  }
  if (event.uri === null || event.uri === "") throw reject("no_media", "neither data nor uri is set");
  const path = await localPath(event.uri, limits.fileRoots);
  let file: Awaited<ReturnType<typeof open>>;
  try {
    // Non-blocking: opening a FIFO named by a record must not wait for a writer.
    file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw reject("missing_file", `${event.uri}: no such file`);
    throw reject("missing_file", `${event.uri}: cannot open it (${code ?? (err as Error).message})`);
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw reject("bad_uri", `${event.uri} is not a regular file`);
    if (stat.size > limits.maxFileBytes) {
      throw reject(
        "too_large",
        `${event.uri} is ${stat.size} bytes, over maxFileBytes ${limits.maxFileBytes}`,
      );
    }
    if (stat.size === 0) throw reject("no_media", `${event.uri} is empty`);
    const bytes = Buffer.alloc(stat.size);
    let bytesRead: number;
    try {
      ({ bytesRead } = await file.read(bytes, 0, stat.size, 0));
    } catch (err) {
      throw reject("missing_file", `${event.uri}: cannot read it (${(err as Error).message})`);
    }
    return bytesRead === stat.size ? bytes : bytes.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/**
 * The absolute path of a `file:` URI (or an absolute path). With `roots`, the path with symbolic
 * links resolved must lie inside one of them.
 */
async function localPath(uri: string, roots: readonly string[]): Promise<string> {
  let path: string;
  if (uri.startsWith("file:")) {
    try {
      path = fileURLToPath(uri);
    } catch (err) {
      throw reject("bad_uri", `${uri}: ${(err as Error).message}`);
    }
  } else if (isAbsolute(uri)) {
    path = uri;
  } else {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1];
    throw reject(
      "bad_uri",
      scheme
        ? `${uri}: scheme "${scheme}:" is not read; the encoder reads local files (file:///path) only`
        : `${uri}: a relative path; use file:///absolute/path`,
    );
  }
  path = resolve(path);
  if (roots.length === 0) return path;
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    throw reject("missing_file", `${uri}: ${(err as NodeJS.ErrnoException).code ?? "cannot resolve it"}`);
  }
  if (!roots.some((root) => isInside(realRoot(root), real))) {
    throw reject("bad_uri", `${uri} is outside the configured fileRoots`);
  }
  return real;
}

const realRoots = new Map<string, string>();

/** A root with its symbolic links resolved (as given when it does not exist). */
function realRoot(root: string): string {
  let real = realRoots.get(root);
  if (real === undefined) {
    try {
      real = realpathSync(resolve(root));
    } catch {
      real = resolve(root);
    }
    realRoots.set(root, real);
  }
  return real;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}
