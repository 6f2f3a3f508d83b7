/**
 * Regenerates `schemas/generated.ts` from `schemas/*.avsc`. Run with `npm run gen:schemas` after
 * changing a schema; `--check` exits 1 instead of writing when the file is stale (for CI).
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSchemaModule } from "../schemas/codegen.js";

const schemasDir = join(dirname(fileURLToPath(import.meta.url)), "..", "schemas");
const target = join(schemasDir, "generated.ts");

const sources = readdirSync(schemasDir)
  .filter((name) => name.endsWith(".avsc"))
  .map((fileName) => ({ fileName, text: readFileSync(join(schemasDir, fileName), "utf8") }));
const generated = generateSchemaModule(sources);

let current = "";
try {
  current = readFileSync(target, "utf8");
} catch {
  // first run: nothing to compare with
}

if (process.argv.includes("--check")) {
  if (current !== generated) {
    console.error("schemas/generated.ts is stale: run `npm run gen:schemas`");
    process.exit(1);
  }
  console.log("schemas/generated.ts is up to date");
} else if (current === generated) {
  console.log(`schemas/generated.ts unchanged (${sources.length} schemas)`);
} else {
  const temp = `${target}.tmp-${process.pid}`;
  writeFileSync(temp, generated);
  renameSync(temp, target);
  console.log(`wrote schemas/generated.ts (${sources.length} schemas)`);
}
