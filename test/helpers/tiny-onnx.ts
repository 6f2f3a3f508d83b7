import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  audioExtractorGraph,
  imageExtractorGraph,
  writeOnnxModel,
} from "../../scripts/onnx/feature-extractors.js";
import type { OnnxGraph } from "../../scripts/onnx/onnx-writer.js";

const DIR = resolve(import.meta.dirname, "../fixtures/generated");

/** Writes `graph` once into test/fixtures/generated/ (git-ignored), atomically: test files run in parallel. */
function fixture(name: string, graph: () => OnnxGraph): string {
  const path = join(DIR, name);
  if (!existsSync(path)) {
    mkdirSync(DIR, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeOnnxModel(tmp, graph());
    renameSync(tmp, path);
  }
  return path;
}

/** The tiny conv image extractor for `size × size` NCHW input: `pixels` → `embedding` [batch, 32]. */
export function tinyImageModelPath(size = 32): string {
  return fixture(`tiny-image-${size}.onnx`, () => imageExtractorGraph({ height: size, width: size }));
}

/** The tiny conv1d audio extractor for windows of `samples`: `waveform` → `embedding` [batch, 16]. */
export function tinyAudioModelPath(samples = 4000): string {
  return fixture(`tiny-audio-${samples}.onnx`, () => audioExtractorGraph({ samples }));
}
