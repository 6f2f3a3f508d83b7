import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { SpikemeshError } from "../errors.js";
import { type CompatibilityLevel, DEFAULT_COMPATIBILITY, isCompatibilityLevel } from "./registry-compat.js";

/** Name of the registry's state file inside its data directory. */
export const REGISTRY_FILE = "schema-registry.json";

/** One schema, global across subjects. Only Avro is stored. */
export interface StoredSchema {
  readonly id: number;
  /** Compact JSON of the schema. */
  readonly schema: string;
}

/** One version of a subject; soft-deleted versions keep their number. */
export interface StoredVersion {
  readonly version: number;
  readonly id: number;
  readonly deleted: boolean;
}

export interface StoredSubject {
  readonly name: string;
  /** Subject-level compatibility; absent = the global level applies. */
  readonly compatibility?: CompatibilityLevel;
  readonly versions: readonly StoredVersion[];
}

/** Everything the registry persists. */
export interface RegistryState {
  readonly format: 1;
  /** Next schema id to hand out; ids are never reused. */
  readonly nextId: number;
  readonly compatibility: CompatibilityLevel;
  readonly schemas: readonly StoredSchema[];
  readonly subjects: readonly StoredSubject[];
}

export const emptyRegistryState = (): RegistryState => ({
  format: 1,
  nextId: 1,
  compatibility: DEFAULT_COMPATIBILITY,
  schemas: [],
  subjects: [],
});

/** Reads the state file of `dataDir`; an empty state when there is none yet. */
export async function loadRegistryState(dataDir: string): Promise<RegistryState> {
  const file = join(dataDir, REGISTRY_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyRegistryState();
    throw err;
  }
  try {
    return checkState(JSON.parse(text));
  } catch (err) {
    throw new SpikemeshError(
      "LOG_CORRUPT",
      `schema registry file ${file} is unreadable (${(err as Error).message}); restore it from a backup, or move it away to start empty (schema ids then change)`,
      { cause: err, context: { file } },
    );
  }
}

let tempCounter = 0;

/** Writes the state atomically: a temp file, fsync, then rename over the old file. */
export async function saveRegistryState(dataDir: string, state: RegistryState): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, REGISTRY_FILE);
  const temp = `${file}.tmp-${process.pid}-${++tempCounter}`;
  try {
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(`${JSON.stringify(state, null, 1)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dataDir);
}

/** Makes the rename durable; best effort, as some file systems refuse to fsync a directory. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // durability of the rename is a bonus here, the file content itself was synced
  }
}

function checkState(json: unknown): RegistryState {
  const state = json as Partial<RegistryState> | null;
  if (typeof state !== "object" || state === null || state.format !== 1) throw new Error("unknown format");
  if (!Number.isSafeInteger(state.nextId) || !isCompatibilityLevel(state.compatibility)) {
    throw new Error("bad nextId or compatibility");
  }
  if (!Array.isArray(state.schemas) || !Array.isArray(state.subjects))
    throw new Error("missing schemas or subjects");
  for (const s of state.schemas) {
    if (!Number.isSafeInteger(s?.id) || typeof s?.schema !== "string") throw new Error("bad schema entry");
  }
  for (const subject of state.subjects) {
    if (typeof subject?.name !== "string" || !Array.isArray(subject.versions))
      throw new Error("bad subject entry");
    if (subject.compatibility !== undefined && !isCompatibilityLevel(subject.compatibility)) {
      throw new Error(`bad compatibility of subject ${subject.name}`);
    }
    for (const v of subject.versions) {
      if (
        !Number.isSafeInteger(v?.version) ||
        !Number.isSafeInteger(v?.id) ||
        typeof v?.deleted !== "boolean"
      ) {
        throw new Error(`bad version entry of subject ${subject.name}`);
      }
    }
  }
  return state as RegistryState;
}
