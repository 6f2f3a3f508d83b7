/**
 * Writes a llama-architecture GGUF with random weights and a byte-level vocabulary (no download):
 *   npx tsx scripts/gen-gguf.ts --shape tiny --out test/fixtures/generated/tiny.gguf
 *   npx tsx scripts/gen-gguf.ts --shape phi2 --type q8_0 --out /tmp/phi2-shape.gguf
 * Options: --shape tiny|phi2|llama8b (default tiny), --type f32|f16|q8_0 (default f32 for tiny,
 * q8_0 otherwise), --seed N (default 1), --out PATH (required).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import type { GgmlTypeName } from "./gguf/gguf-writer.js";
import { LLAMA_SHAPES, type LlamaShapeName, writeLlamaGguf } from "./gguf/llama-gguf.js";

const USAGE =
  "usage: tsx scripts/gen-gguf.ts --out PATH [--shape tiny|phi2|llama8b] [--type f32|f16|q8_0] [--seed N]";
const TYPES: Record<string, GgmlTypeName> = { f32: "F32", f16: "F16", q8_0: "Q8_0" };

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    shape: { type: "string", default: "tiny" },
    type: { type: "string" },
    seed: { type: "string", default: "1" },
    help: { type: "boolean", default: false },
  },
});
if (values.help || values.out === undefined) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}
if (!(values.shape in LLAMA_SHAPES)) {
  console.error(`unknown --shape ${values.shape}\n${USAGE}`);
  process.exit(2);
}
const shape = values.shape as LlamaShapeName;
const type = TYPES[values.type ?? (shape === "tiny" ? "f32" : "q8_0")];
const seed = Number(values.seed);
if (type === undefined || !Number.isInteger(seed)) {
  console.error(USAGE);
  process.exit(2);
}
mkdirSync(dirname(values.out), { recursive: true });
const started = performance.now();
const bytes = writeLlamaGguf(values.out, { shape, type, seed });
const seconds = (performance.now() - started) / 1000;
console.log(`${values.out}: ${shape} ${type}, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s`);
