/**
 * Writes a tiny ONNX feature extractor with seeded random weights (no download), for tests,
 * benchmarks and trying the media encoder without a real model:
 *   npx tsx scripts/gen-onnx.ts --kind image --size 32 --out /tmp/tiny-image.onnx
 *   npx tsx scripts/gen-onnx.ts --kind audio --samples 16000 --out /tmp/tiny-audio.onnx
 * image: `pixels` [batch, 3, size, size] → `embedding` [batch, 32] (conv, relu, max-pool, projection).
 * audio: `waveform` [batch, samples] → `embedding` [batch, 16] (conv1d filter bank, relu, mean).
 * Options: --kind image|audio (required), --size N (image, multiple of 4, default 32),
 * --samples N (audio, default 16000), --seed N, --out PATH (required).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { audioExtractorGraph, imageExtractorGraph, writeOnnxModel } from "./onnx/feature-extractors.js";

const USAGE =
  "usage: tsx scripts/gen-onnx.ts --kind image|audio --out PATH [--size N] [--samples N] [--seed N]";

const { values } = parseArgs({
  options: {
    kind: { type: "string" },
    out: { type: "string" },
    size: { type: "string", default: "32" },
    samples: { type: "string", default: "16000" },
    seed: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
const size = Number(values.size);
const samples = Number(values.samples);
const seed = values.seed === undefined ? undefined : Number(values.seed);
const isValid =
  values.out !== undefined &&
  (values.kind === "image" || values.kind === "audio") &&
  Number.isInteger(size) &&
  size > 0 &&
  size % 4 === 0 &&
  Number.isInteger(samples) &&
  samples >= 64 &&
  (seed === undefined || Number.isInteger(seed));
if (values.help || !isValid) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}
const out = values.out!;
mkdirSync(dirname(out), { recursive: true });
const graph =
  values.kind === "image"
    ? imageExtractorGraph({ height: size, width: size, seed })
    : audioExtractorGraph({ samples, seed });
const bytes = writeOnnxModel(out, graph);
const input = graph.inputs[0]!;
const output = graph.outputs[0]!;
console.log(
  `${out}: ${values.kind} extractor, ${bytes} bytes; input "${input.name}" [${input.dims.join(", ")}], output "${output.name}" [${output.dims.join(", ")}]`,
);
