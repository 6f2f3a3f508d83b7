import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeLlamaGguf } from "../../scripts/gguf/llama-gguf.js";

const DIR = resolve(import.meta.dirname, "../fixtures/generated");

/**
 * The tiny llama GGUF (random weights, byte vocabulary) the model tests load, written by the
 * project's own generator on first use into test/fixtures/generated/ (git-ignored). Test files run
 * in parallel processes, so it is written to a temporary name and renamed into place.
 */
export function tinyModelPath(seed = 1): string {
  const path = join(DIR, `tiny-llama-s${seed}.gguf`);
  if (!existsSync(path)) {
    mkdirSync(DIR, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeLlamaGguf(tmp, { shape: "tiny", type: "F32", seed });
    renameSync(tmp, path);
  }
  return path;
}
