import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../../streams/index.js";
import { packageRoot } from "../package-root.js";
import { type BuildOptions, buildTopology, type LoadedTopology } from "./build-topology.js";
import { parseTopologyFile } from "./topology-file.js";

/** The default topology: the three-tier cognitive mesh. */
export const DEFAULT_TOPOLOGY = "mesh";

export function topologiesDir(): string {
  return join(packageRoot(), "topologies");
}

/**
 * Presets are the topology files shipped in topologies/: `<name>.yaml` with a top-level `topology:`
 * field (other YAML there, such as catalogue.yaml, is data the topologies refer to). Adding a file is
 * all it takes to add a preset.
 */
export function presetNames(): string[] {
  const dir = topologiesDir();
  return readdirSync(dir)
    .filter((f) => extname(f) === ".yaml")
    .filter((f) => {
      try {
        const doc = parseYaml(readFileSync(join(dir, f), "utf8")) as unknown;
        return typeof doc === "object" && doc !== null && "topology" in doc;
      } catch {
        return true; // a broken preset is still a preset: loading it reports the problem
      }
    })
    .map((f) => basename(f, ".yaml"))
    .sort((a, b) => (a === DEFAULT_TOPOLOGY ? -1 : b === DEFAULT_TOPOLOGY ? 1 : a.localeCompare(b)));
}

/** A topology argument: a preset name, or a path to a file (it has a `/` or a .yaml/.yml extension). */
export function resolveTopologyRef(ref: string): { path: string; shownAs: string } {
  const isFile = ref.includes("/") || ref.includes("\\") || /\.ya?ml$/i.test(ref);
  if (isFile) {
    if (!existsSync(ref)) throw new ConfigError([`--topology: file not found: ${ref}`]);
    return { path: resolve(ref), shownAs: ref };
  }
  const names = presetNames();
  if (!names.includes(ref)) {
    throw new ConfigError([
      `--topology: unknown preset "${ref}" (presets: ${names.join(", ")}); give a path to use a file of your own`,
    ]);
  }
  return { path: join(topologiesDir(), `${ref}.yaml`), shownAs: `topologies/${ref}.yaml` };
}

/** Reads, checks and builds a topology file or preset. */
export function loadTopology(ref: string, opts: BuildOptions): LoadedTopology {
  const { path, shownAs } = resolveTopologyRef(ref);
  return buildTopology(parseTopologyFile(path, shownAs, dirname(path)), opts);
}
