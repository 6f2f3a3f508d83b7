import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The directory holding spikemesh's package.json, found from this file whether it runs from the
 * sources (cli/) or the build (dist/cli/). Shipped files such as topologies/ are resolved from it.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "topologies"))) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error("spikemesh: cannot find the package root (package.json + topologies/)");
    dir = parent;
  }
}
