import {
  incompatibleSchema,
  invalidSchema,
  invalidVersion,
  RegistryApiError,
  schemaNotFound,
  subjectConfigNotFound,
  subjectNotFound,
  subjectNotSoftDeleted,
  versionNotFound,
  versionNotSoftDeleted,
} from "./registry-api-error.js";
import {
  type CompatibilityLevel,
  compatibilityProblems,
  type ParsedSchema,
  parseAvroSchema,
} from "./registry-compat.js";
import {
  loadRegistryState,
  type RegistryState,
  type StoredSubject,
  type StoredVersion,
  saveRegistryState,
} from "./registry-file.js";

/** One version of one subject, as the registry API returns it. */
export interface SubjectVersion {
  subject: string;
  id: number;
  version: number;
  schema: string;
}

const MAX_VERSION = 2 ** 31 - 1;

/**
 * The registry's data: global schema ids, subjects and their versions, compatibility levels.
 * Reads are synchronous on an immutable snapshot; changes run one at a time, are written to the data
 * directory first and only then become visible, so a failed write changes nothing.
 * Methods throw RegistryApiError with the status and Confluent error code to answer with.
 */
export class RegistryStore {
  private state: RegistryState;
  private readonly dataDir: string;
  private readonly subjects = new Map<string, StoredSubject>();
  private readonly texts = new Map<number, string>();
  private readonly idByKey = new Map<string, number>();
  /** Parsed schemas by id; ids never change meaning, so entries stay valid. */
  private readonly parsed = new Map<number, ParsedSchema>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(dataDir: string, state: RegistryState) {
    this.dataDir = dataDir;
    this.state = state;
    this.adopt(state);
  }

  /** Loads the registry kept in `dataDir` (created on the first change). */
  static async open(dataDir: string): Promise<RegistryStore> {
    return new RegistryStore(dataDir, await loadRegistryState(dataDir));
  }

  get globalCompatibility(): CompatibilityLevel {
    return this.state.compatibility;
  }

  /** The subject's own level; throws 40408 when it has none (Confluent's answer), unless `orGlobal`. */
  subjectCompatibility(subject: string, orGlobal: boolean): CompatibilityLevel {
    const level = this.subjects.get(subject)?.compatibility;
    if (level) return level;
    if (orGlobal) return this.state.compatibility;
    throw subjectConfigNotFound(subject);
  }

  /** Registers `schemaText` under `subject` and returns its global id (the existing one if already there). */
  register(subject: string, schemaText: string): Promise<number> {
    const parsed = parseOrThrow(schemaText);
    return this.change((state) => {
      const existing = this.subjects.get(subject);
      const live = liveVersions(existing);
      const same = live.findLast((v) => this.parsedById(v.id).key === parsed.key);
      if (same) return { result: same.id };
      const level = existing?.compatibility ?? state.compatibility;
      const earlier = live.map((v) => ({ version: v.version, type: this.parsedById(v.id).type }));
      const problems = compatibilityProblems(parsed.type, earlier, level);
      if (problems.length > 0) throw incompatibleSchema(subject, level, problems);
      const knownId = this.idByKey.get(parsed.key);
      const id = knownId ?? state.nextId;
      const version = Math.max(0, ...(existing?.versions ?? []).map((v) => v.version)) + 1;
      const subjectNext: StoredSubject = {
        ...(existing ?? { name: subject }),
        versions: [...(existing?.versions ?? []), { version, id, deleted: false }],
      };
      const next: RegistryState = {
        ...state,
        nextId: knownId === undefined ? state.nextId + 1 : state.nextId,
        schemas: knownId === undefined ? [...state.schemas, { id, schema: parsed.text }] : state.schemas,
        subjects: replaceSubject(state.subjects, subject, subjectNext),
      };
      return { next, result: id };
    });
  }

  /** The newest version of `subject` whose schema equals `schemaText`. */
  lookup(subject: string, schemaText: string, includeDeleted: boolean): SubjectVersion {
    const parsed = parseOrThrow(schemaText);
    const versions = this.existingVersions(subject, includeDeleted);
    const match = versions.findLast((v) => this.parsedById(v.id).key === parsed.key);
    if (!match) throw schemaNotFound(`under subject '${subject}'`);
    return this.describe(subject, match);
  }

  /** The schema text with global id `id`. */
  schemaText(id: number): string {
    const text = this.texts.get(id);
    if (text === undefined) throw schemaNotFound(String(id));
    return text;
  }

  /** Every live subject version that uses schema `id`. */
  usesOfSchema(id: number): { subject: string; version: number }[] {
    this.schemaText(id);
    const uses: { subject: string; version: number }[] = [];
    for (const subject of this.subjects.values()) {
      for (const v of liveVersions(subject))
        if (v.id === id) uses.push({ subject: subject.name, version: v.version });
    }
    return uses;
  }

  /** Names of subjects with at least one version (soft-deleted ones count only with `includeDeleted`). */
  subjectNames(includeDeleted: boolean): string[] {
    return [...this.subjects.values()]
      .filter((s) => (includeDeleted ? s.versions.length > 0 : liveVersions(s).length > 0))
      .map((s) => s.name)
      .sort();
  }

  versionNumbers(subject: string, includeDeleted: boolean): number[] {
    return this.existingVersions(subject, includeDeleted).map((v) => v.version);
  }

  /** Version `versionParam` ("latest", "-1" or a number) of `subject`. */
  version(subject: string, versionParam: string, includeDeleted: boolean): SubjectVersion {
    return this.describe(subject, this.resolveVersion(subject, versionParam, includeDeleted));
  }

  /**
   * Problems that keep `schemaText` from following `subject` under its level: against version
   * `versionParam` only, or (null) against every version the level covers.
   */
  compatibilityProblems(subject: string, versionParam: string | null, schemaText: string): string[] {
    const parsed = parseOrThrow(schemaText);
    const against =
      versionParam === null
        ? this.existingVersions(subject, false)
        : [this.resolveVersion(subject, versionParam, false)];
    const level = this.subjectCompatibility(subject, true);
    const earlier = against.map((v) => ({ version: v.version, type: this.parsedById(v.id).type }));
    return compatibilityProblems(parsed.type, earlier, level);
  }

  /** Sets the global level (`subject` null) or a subject's level. */
  setCompatibility(subject: string | null, level: CompatibilityLevel): Promise<void> {
    return this.change((state) => {
      if (subject === null) return { next: { ...state, compatibility: level }, result: undefined };
      const subjectNext = {
        ...(this.subjects.get(subject) ?? { name: subject, versions: [] }),
        compatibility: level,
      };
      return {
        next: { ...state, subjects: replaceSubject(state.subjects, subject, subjectNext) },
        result: undefined,
      };
    });
  }

  /** Removes a subject's own level and returns it; the global level applies again. */
  clearCompatibility(subject: string): Promise<CompatibilityLevel> {
    return this.change((state) => {
      const existing = this.subjects.get(subject);
      if (!existing?.compatibility) throw subjectConfigNotFound(subject);
      const { compatibility, ...rest } = existing;
      const subjects = replaceSubject(state.subjects, subject, rest.versions.length > 0 ? rest : null);
      return { next: { ...state, subjects }, result: compatibility };
    });
  }

  /** Soft-deletes every live version, or (permanent) removes a subject whose versions are all soft-deleted. */
  deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.change((state) => {
      const existing = this.subjects.get(subject);
      if (!existing || existing.versions.length === 0) throw subjectNotFound(subject);
      const live = liveVersions(existing);
      if (permanent) {
        if (live.length > 0) throw subjectNotSoftDeleted(subject);
        const subjects = replaceSubject(state.subjects, subject, null);
        return { next: { ...state, subjects }, result: existing.versions.map((v) => v.version) };
      }
      if (live.length === 0) throw new RegistryApiError(404, 40404, `Subject '${subject}' was soft deleted.`);
      const versions = existing.versions.map((v) => ({ ...v, deleted: true }));
      const subjects = replaceSubject(state.subjects, subject, { ...existing, versions });
      return { next: { ...state, subjects }, result: live.map((v) => v.version) };
    });
  }

  /** Soft-deletes one version, or (permanent) removes one already soft-deleted. */
  deleteVersion(subject: string, versionParam: string, permanent: boolean): Promise<number> {
    return this.change((state) => {
      const target = this.resolveVersion(subject, versionParam, permanent);
      if (permanent && !target.deleted) throw versionNotSoftDeleted(subject, target.version);
      const existing = this.subjects.get(subject)!;
      const versions = permanent
        ? existing.versions.filter((v) => v.version !== target.version)
        : existing.versions.map((v) => (v.version === target.version ? { ...v, deleted: true } : v));
      const keep = versions.length > 0 || existing.compatibility !== undefined;
      const subjects = replaceSubject(state.subjects, subject, keep ? { ...existing, versions } : null);
      return { next: { ...state, subjects }, result: target.version };
    });
  }

  /** Waits for changes in flight to be written. */
  async close(): Promise<void> {
    await this.queue;
  }

  private change<R>(apply: (state: RegistryState) => { next?: RegistryState; result: R }): Promise<R> {
    const run = this.queue.then(async () => {
      const { next, result } = apply(this.state);
      if (next) {
        await saveRegistryState(this.dataDir, next);
        this.adopt(next);
      }
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private adopt(state: RegistryState): void {
    this.state = state;
    this.subjects.clear();
    for (const subject of state.subjects) this.subjects.set(subject.name, subject);
    for (const s of state.schemas) {
      if (this.texts.has(s.id)) continue;
      this.texts.set(s.id, s.schema);
      this.idByKey.set(this.parsedById(s.id).key, s.id);
    }
  }

  private parsedById(id: number): ParsedSchema {
    let parsed = this.parsed.get(id);
    if (!parsed) {
      parsed = parseAvroSchema(this.schemaText(id));
      this.parsed.set(id, parsed);
    }
    return parsed;
  }

  /** Versions of an existing subject, oldest first; 40401 when it has none. */
  private existingVersions(subject: string, includeDeleted: boolean): readonly StoredVersion[] {
    const existing = this.subjects.get(subject);
    const versions = includeDeleted ? (existing?.versions ?? []) : liveVersions(existing);
    if (versions.length === 0) throw subjectNotFound(subject);
    return versions;
  }

  private resolveVersion(subject: string, param: string, includeDeleted: boolean): StoredVersion {
    const versions = this.existingVersions(subject, includeDeleted);
    if (param === "latest" || param === "-1") return versions[versions.length - 1]!;
    const n = /^\d+$/.test(param) ? Number(param) : Number.NaN;
    if (!(n >= 1 && n <= MAX_VERSION)) throw invalidVersion(param);
    const found = versions.find((v) => v.version === n);
    if (!found) throw versionNotFound(subject, n);
    return found;
  }

  private describe(subject: string, v: StoredVersion): SubjectVersion {
    return { subject, id: v.id, version: v.version, schema: this.schemaText(v.id) };
  }
}

function parseOrThrow(schemaText: string): ParsedSchema {
  try {
    return parseAvroSchema(schemaText);
  } catch (err) {
    throw invalidSchema((err as Error).message);
  }
}

function liveVersions(subject: StoredSubject | undefined): readonly StoredVersion[] {
  return subject ? subject.versions.filter((v) => !v.deleted) : [];
}

/** `subjects` with `name` replaced by `next` (appended when new, dropped when null). */
function replaceSubject(
  subjects: readonly StoredSubject[],
  name: string,
  next: StoredSubject | null,
): readonly StoredSubject[] {
  if (!next) return subjects.filter((s) => s.name !== name);
  return subjects.some((s) => s.name === name)
    ? subjects.map((s) => (s.name === name ? next : s))
    : [...subjects, next];
}
