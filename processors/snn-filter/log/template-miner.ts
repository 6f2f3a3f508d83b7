import { z } from "zod";
import { LineMasker, MASK_NAMES, type MaskName, WILDCARD } from "./template-masks.js";

/** Options of the template miner (Drain), with their defaults. */
export const templateMinerOptions = z.strictObject({
  depth: z
    .number()
    .int()
    .min(3)
    .max(16)
    .default(4)
    .describe(
      "Depth of the parse tree as Drain counts it: root, token-count layer, depth - 3 layers keyed by the first tokens, and the leaf lists of templates. 4: lines are grouped by token count and first token.",
    ),
  similarity: z
    .number()
    .min(0)
    .max(1)
    .default(0.4)
    .describe(
      "A line joins the most similar template of its leaf when at least this share of its tokens equal the template's (a masked <*> meets a template <*>); otherwise it starts a new template.",
    ),
  maxChildren: z
    .number()
    .int()
    .min(2)
    .default(100)
    .describe("Children per tree node; further distinct tokens at a full node share its <*> child."),
  maxTemplates: z
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe("Templates kept; a new one beyond this evicts the least recently matched."),
  masks: z
    .array(z.enum(MASK_NAMES as [MaskName, ...MaskName[]]))
    .default([...MASK_NAMES])
    .describe(`Variable parts masked as <*> before tokenizing, from: ${MASK_NAMES.join(", ")}.`),
});

/** Defaults: depth 4, similarity 0.4, maxChildren 100, maxTemplates 10000, masks all. */
export type TemplateMinerOptions = z.infer<typeof templateMinerOptions>;

/** What `add` did with a line. */
export interface MinedLine {
  /** The template the line joined: ids count from 1 and never change while a template generalises. */
  templateId: number;
  /** The line started this template. */
  isNew: boolean;
  /** The line turned one or more of the template's tokens into <*>. */
  isChanged: boolean;
  /** A template evicted to make room for this one (maxTemplates), or undefined. */
  evictedId: number | undefined;
}

/** Plain-JSON state of one template, as written to a store. */
export interface TemplateState {
  id: number;
  /** The tree keys it hangs under (first tokens, or <*>), fixed when it was created. */
  path: string[];
  tokens: string[];
  count: number;
  /** Sequence number of the last line it matched (recency, for eviction). */
  lastSeq: number;
}

/** Plain-JSON state of the miner apart from its templates. */
export interface MinerHeader {
  version: 1;
  /** The options the templates were mined with: templates mined otherwise are not restored. */
  options: TemplateMinerOptions;
  nextId: number;
  seq: number;
}

interface Template {
  readonly id: number;
  readonly path: string[];
  tokens: string[];
  count: number;
  lastSeq: number;
}

interface TreeNode {
  children: Map<string, TreeNode>;
  /** Templates at a leaf, in id order (creation order). */
  templates: Template[];
}

const newNode = (): TreeNode => ({ children: new Map(), templates: [] });
const HAS_DIGIT = /\d/;

/**
 * A Drain-style log template miner (He et al., ICWS 2017, as Drain3 refines it): a line is masked
 * (numbers, addresses, ... become <*>), split on whitespace, routed through a fixed-depth parse tree
 * (first by token count, then by its first tokens, tokens holding digits under <*>), and joins the
 * most similar template at that leaf when the similarity reaches `similarity`; positions where the
 * two differ become <*>. Otherwise it starts a new template there.
 *
 * Deterministic: the same lines in the same order give the same templates and ids, and a miner
 * restored from its snapshot continues exactly as the original would.
 */
export class TemplateMiner {
  readonly options: TemplateMinerOptions;
  private readonly masker: LineMasker;
  private readonly root = newNode();
  /** Least recently matched first (a Map keeps insertion order; a match re-inserts). */
  private readonly byRecency = new Map<number, Template>();
  private readonly tokenLayers: number;
  private nextId = 1;
  private seq = 0;

  constructor(options: Partial<TemplateMinerOptions> = {}) {
    this.options = templateMinerOptions.parse(options);
    this.masker = new LineMasker(this.options.masks);
    this.tokenLayers = this.options.depth - 3;
  }

  /** Number of templates held. */
  get size(): number {
    return this.byRecency.size;
  }

  /** The tokens the miner sees for a line: masked, split on whitespace. */
  tokenize(line: string): string[] {
    return this.masker.tokens(line);
  }

  /** Mines one line: finds or creates its template and generalises it. */
  add(line: string): MinedLine {
    const tokens = this.masker.tokens(line);
    const seq = ++this.seq;
    const found = this.search(tokens);
    if (found) {
      let isChanged = false;
      for (let i = 0; i < tokens.length; i++) {
        if (found.tokens[i] !== tokens[i] && found.tokens[i] !== WILDCARD) {
          found.tokens[i] = WILDCARD;
          isChanged = true;
        }
      }
      found.count++;
      found.lastSeq = seq;
      this.byRecency.delete(found.id);
      this.byRecency.set(found.id, found);
      return { templateId: found.id, isNew: false, isChanged, evictedId: undefined };
    }
    const evictedId = this.byRecency.size >= this.options.maxTemplates ? this.evictOldest() : undefined;
    const template: Template = { id: this.nextId++, path: [], tokens, count: 1, lastSeq: seq };
    this.insert(template);
    return { templateId: template.id, isNew: true, isChanged: false, evictedId };
  }

  /** The template a line would join, without changing anything; undefined when it would start one. */
  match(line: string): number | undefined {
    return this.search(this.masker.tokens(line))?.id;
  }

  /** The template's text (tokens joined by single spaces), or undefined for an unknown id. */
  templateOf(id: number): string | undefined {
    return this.byRecency.get(id)?.tokens.join(" ");
  }

  /** Lines the template has matched, or 0 for an unknown id. */
  countOf(id: number): number {
    return this.byRecency.get(id)?.count ?? 0;
  }

  /** Every template's state, in id order. */
  templates(): TemplateState[] {
    return [...this.byRecency.values()].sort((a, b) => a.id - b.id).map(stateOf);
  }

  /** One template's state, or undefined for an unknown (or evicted) id. */
  snapshotTemplate(id: number): TemplateState | undefined {
    const t = this.byRecency.get(id);
    return t === undefined ? undefined : stateOf(t);
  }

  header(): MinerHeader {
    return { version: 1, options: this.options, nextId: this.nextId, seq: this.seq };
  }

  /**
   * Replaces the miner's content with a snapshot. Throws a RangeError (and keeps the miner empty)
   * when the snapshot was mined with other options or does not fit together.
   */
  restore(header: MinerHeader, templates: readonly TemplateState[]): void {
    this.clear();
    if (header.version !== 1) throw new RangeError(`TemplateMiner: unknown state version ${header.version}`);
    if (optionsKey(header.options) !== optionsKey(this.options)) {
      throw new RangeError("TemplateMiner: the snapshot was mined with other options");
    }
    try {
      const seen = new Set<number>();
      for (const s of [...templates].sort((a, b) => a.id - b.id)) {
        const isValid =
          Number.isInteger(s.id) &&
          s.id > 0 &&
          s.id < header.nextId &&
          !seen.has(s.id) &&
          s.lastSeq <= header.seq &&
          s.path.length === Math.min(this.tokenLayers, Math.max(0, s.tokens.length - 1));
        if (!isValid) throw new RangeError(`TemplateMiner: template ${s.id} does not fit the snapshot`);
        seen.add(s.id);
        const template: Template = { ...s, path: [...s.path], tokens: [...s.tokens] };
        this.leafAlong(template.tokens.length, template.path).templates.push(template);
        this.byRecency.set(template.id, template);
      }
    } catch (err) {
      this.clear();
      throw err;
    }
    const recency = [...this.byRecency.values()].sort((a, b) => a.lastSeq - b.lastSeq || a.id - b.id);
    this.byRecency.clear();
    for (const t of recency) this.byRecency.set(t.id, t);
    this.nextId = header.nextId;
    this.seq = header.seq;
  }

  private clear(): void {
    this.root.children.clear();
    this.byRecency.clear();
    this.nextId = 1;
    this.seq = 0;
  }

  private search(tokens: string[]): Template | undefined {
    let node = this.root.children.get(String(tokens.length));
    if (node === undefined) return undefined;
    const layers = Math.min(this.tokenLayers, tokens.length - 1);
    for (let i = 0; i < layers; i++) {
      node = node.children.get(tokens[i]!) ?? node.children.get(WILDCARD);
      if (node === undefined) return undefined;
    }
    let best: Template | undefined;
    let bestSim = -1;
    let bestParams = -1;
    for (const t of node.templates) {
      let same = 0;
      let params = 0;
      for (let i = 0; i < tokens.length; i++) {
        const a = t.tokens[i];
        if (a === WILDCARD) params++;
        if (a === tokens[i]) same++;
      }
      const sim = tokens.length === 0 ? 1 : same / tokens.length;
      if (sim > bestSim || (sim === bestSim && params > bestParams)) {
        best = t;
        bestSim = sim;
        bestParams = params;
      }
    }
    return best !== undefined && bestSim >= this.options.similarity ? best : undefined;
  }

  /** Hangs a new template in the tree (Drain's rules for full nodes and tokens with digits). */
  private insert(template: Template): void {
    const { tokens } = template;
    let node = this.root.children.get(String(tokens.length));
    if (node === undefined) {
      node = newNode();
      this.root.children.set(String(tokens.length), node);
    }
    const layers = Math.min(this.tokenLayers, tokens.length - 1);
    const max = this.options.maxChildren;
    for (let i = 0; i < layers; i++) {
      const token = tokens[i]!;
      let key = token;
      if (!node.children.has(token)) {
        const hasWildcard = node.children.has(WILDCARD);
        const room = node.children.size + (hasWildcard ? 0 : 1);
        if (HAS_DIGIT.test(token) || room >= max) key = WILDCARD;
      }
      let child = node.children.get(key);
      if (child === undefined) {
        child = newNode();
        node.children.set(key, child);
      }
      template.path.push(key);
      node = child;
    }
    node.templates.push(template);
    this.byRecency.set(template.id, template);
  }

  /** The leaf for a token count and path, creating nodes as needed (restore). */
  private leafAlong(tokenCount: number, path: readonly string[]): TreeNode {
    let node = this.root;
    for (const key of [String(tokenCount), ...path]) {
      let child = node.children.get(key);
      if (child === undefined) {
        child = newNode();
        node.children.set(key, child);
      }
      node = child;
    }
    return node;
  }

  /** Removes the least recently matched template and prunes the nodes only it kept alive. */
  private evictOldest(): number | undefined {
    const oldest = this.byRecency.values().next().value;
    if (oldest === undefined) return undefined;
    this.byRecency.delete(oldest.id);
    const keys = [String(oldest.tokens.length), ...oldest.path];
    const trail: TreeNode[] = [this.root];
    for (const key of keys) trail.push(trail[trail.length - 1]!.children.get(key)!);
    const leaf = trail[trail.length - 1]!;
    leaf.templates = leaf.templates.filter((t) => t.id !== oldest.id);
    for (let i = keys.length; i > 0; i--) {
      const node = trail[i]!;
      if (node.templates.length > 0 || node.children.size > 0) break;
      trail[i - 1]!.children.delete(keys[i - 1]!);
    }
    return oldest.id;
  }
}

/** The options that shape what is mined, in a canonical form (mask order does not matter). */
function optionsKey(o: TemplateMinerOptions): string {
  return JSON.stringify([o.depth, o.similarity, o.maxChildren, o.maxTemplates, [...o.masks].sort()]);
}

function stateOf(t: Template): TemplateState {
  return { id: t.id, path: [...t.path], tokens: [...t.tokens], count: t.count, lastSeq: t.lastSeq };
}
