import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * STYLE.md's dependency arrows, enforced: schemas ← streams ← processors ← cli, processors never
 * import each other, no import cycles, and index.ts files hold re-exports only.
 */
const ROOT = resolve(import.meta.dirname, "../..");
const LAYERS = ["schemas", "streams", "processors", "cli"] as const;
const ALLOWED: Record<(typeof LAYERS)[number], readonly string[]> = {
  schemas: ["schemas"],
  streams: ["schemas", "streams"],
  processors: ["schemas", "streams", "processors"],
  cli: ["schemas", "streams", "processors", "cli"],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)].map((m) => m[1]!);
  return specs.map((spec) => resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
}

const files = LAYERS.flatMap((layer) => sourceFiles(join(ROOT, layer)));
const graph = new Map(files.map((f) => [f, relativeImports(f)]));
const layerOf = (file: string) => relative(ROOT, file).split("/")[0]!;

describe("layering", () => {
  it("finds the source tree", () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it("imports only point down the layers", () => {
    const violations: string[] = [];
    for (const [file, imports] of graph) {
      const from = layerOf(file) as (typeof LAYERS)[number];
      for (const target of imports) {
        if (!ALLOWED[from].includes(layerOf(target))) {
          violations.push(`${relative(ROOT, file)} -> ${relative(ROOT, target)}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("processors do not import each other", () => {
    const violations: string[] = [];
    for (const [file, imports] of graph) {
      const parts = relative(ROOT, file).split("/");
      if (parts[0] !== "processors" || parts.length < 3) continue;
      for (const target of imports) {
        const tparts = relative(ROOT, target).split("/");
        if (tparts[0] === "processors" && tparts.length >= 3 && tparts[1] !== parts[1]) {
          violations.push(`${relative(ROOT, file)} -> ${relative(ROOT, target)}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("has no import cycles", () => {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, "visiting");
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (!graph.has(next)) continue;
        if (state.get(next) === "visiting") {
          cycles.push(
            stack
              .slice(stack.indexOf(next))
              .concat(next)
              .map((f) => relative(ROOT, f))
              .join(" -> "),
          );
        } else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, "done");
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  it("index.ts files only re-export", () => {
    const offenders = files
      .filter((f) => f.endsWith("/index.ts"))
      .filter((f) => {
        const code = readFileSync(f, "utf8")
          .replace(/\/\*[\s\S]*?\*\//g, "")
          .replace(/\/\/.*$/gm, "")
          .replace(/export\s+(type\s+)?(\*|\{[^}]*\})(\s+as\s+\w+)?\s+from\s+"[^"]+";/g, "")
          .trim();
        return code.length > 0;
      })
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });
});
