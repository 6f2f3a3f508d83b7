import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError } from "../../streams/index.js";

export type FieldPath = readonly (string | number)[];

/** A field path as users write it: `processors[2].options.windowMs`. */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  return out || "(root)";
}

/**
 * A YAML file kept with its source positions, so that a problem found in the parsed value can be
 * reported at the line and column of the field it is about (or of the mapping that lacks it).
 */
export class YamlSource {
  private constructor(
    /** As given by the user (shown in messages). */
    readonly file: string,
    readonly value: unknown,
    private readonly contents: Node | null,
    private readonly lines: LineCounter,
  ) {}

  /** Parses `text`; YAML syntax errors (and duplicate keys) are a ConfigError naming their lines. */
  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        doc.errors.map((e) => {
          const at = e.linePos?.[0];
          const message = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
          return `${file}${at ? `:${at.line}:${at.col}` : ""}: not valid YAML: ${message}`;
        }),
      );
    }
    return new YamlSource(file, doc.toJS({ maxAliasCount: 100 }), doc.contents as Node | null, lines);
  }

  /**
   * Where `path` is: the key of its field (or its item in a list). When the path does not exist, the
   * closest existing parent, with `found` false.
   */
  locate(path: FieldPath): { line: number; col: number; found: boolean } {
    let node: unknown = this.contents;
    let offset = (this.contents?.range?.[0] as number | undefined) ?? 0;
    for (const part of path) {
      let next: unknown;
      let at: number | undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(part));
        if (pair) {
          next = pair.value;
          at = (pair.key as Node).range?.[0];
        }
      } else if (isSeq(node) && typeof part === "number") {
        next = node.items[part];
        at = (next as Node | undefined)?.range?.[0];
      }
      if (at === undefined) return { ...this.lines.linePos(offset), found: false };
      node = next;
      offset = at;
    }
    return { ...this.lines.linePos(offset), found: true };
  }

  /** `file:line:col: field: message`. */
  problem(path: FieldPath, message: string): string {
    const { line, col } = this.locate(path);
    return `${this.file}:${line}:${col}: ${formatPath(path)}: ${message}`;
  }
}
