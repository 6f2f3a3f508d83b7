import { describe, expect, it } from "vitest";
import { ERROR_LINE_KINDS, LogGenerator } from "../../cli/demo/log-generator.js";
import { groupingAccuracy } from "../../cli/templates/grouping-accuracy.js";
import {
  LineMasker,
  MASK_NAMES,
  type MinerHeader,
  TemplateMiner,
  type TemplateState,
} from "../../processors/snn-filter/index.js";

const T0 = Date.UTC(2026, 0, 1);

/** Snapshot through JSON, as the store would keep it. */
function roundTrip(miner: TemplateMiner): { header: MinerHeader; templates: TemplateState[] } {
  return JSON.parse(JSON.stringify({ header: miner.header(), templates: miner.templates() }));
}

describe("template miner: masks", () => {
  const masker = new LineMasker(MASK_NAMES);

  it.each([
    ["connect from 10.1.2.3:8080 ok", "connect from <*> ok"],
    ["peer 192.168.0.1 down", "peer <*> down"],
    ["job 123e4567-e89b-12d3-a456-426614174000 done", "job <*> done"],
    ["addr 0x7ffe12ab key deadbeef01", "addr <*> key <*>"],
    ["wrote /var/lib/db/main-1.dat", "wrote <*>"],
    ["GET http://example.org/a?b=1 took 12ms", "GET <*> took <*>"],
    ["retry 3 of 5 after -1.5e3 s at 99%", "retry <*> of <*> after <*> s at <*>"],
    ["id=42, user_7 blk_-160899 node7 v2", "id=<*>, user_<*> blk_<*> node7 v2"],
    ["no variables here", "no variables here"],
  ])("masks %j", (line, masked) => {
    expect(masker.mask(line)).toBe(masked);
  });

  it("masks only what it is asked to, and nothing with an empty list", () => {
    expect(new LineMasker(["ipv4"]).mask("from 10.0.0.1 took 12ms")).toBe("from <*> took 12ms");
    expect(new LineMasker([]).mask("from 10.0.0.1 took 12ms")).toBe("from 10.0.0.1 took 12ms");
  });

  it("gives the same result whatever the order the masks are listed in", () => {
    const line = "GET http://h/1 from 10.0.0.1:80 /tmp/x 0xff 12";
    expect(new LineMasker(["number", "path", "url", "ipv4", "hex"]).mask(line)).toBe(
      new LineMasker(["url", "ipv4", "hex", "path", "number"]).mask(line),
    );
  });

  it("splits on runs of whitespace; a blank line has no tokens", () => {
    expect(masker.tokens("  a \t b   c ")).toEqual(["a", "b", "c"]);
    expect(masker.tokens("   ")).toEqual([]);
  });
});

describe("template miner: parse tree and merging", () => {
  it("merges lines that differ in a variable word into one template with <*>", () => {
    const m = new TemplateMiner();
    const a = m.add("User alice logged in from 10.0.0.1");
    const b = m.add("User bob logged in from 10.0.0.2");
    expect(a).toMatchObject({ templateId: 1, isNew: true, isChanged: false });
    expect(b).toMatchObject({ templateId: 1, isNew: false, isChanged: true });
    expect(m.templateOf(1)).toBe("User <*> logged in from <*>");
    expect(m.countOf(1)).toBe(2);
    expect(m.add("User carol logged in from 10.0.0.3")).toMatchObject({ templateId: 1, isChanged: false });
  });

  it("keeps lines of different token counts apart, however alike", () => {
    const m = new TemplateMiner();
    const a = m.add("Worker started job 7");
    const b = m.add("Worker started job 7 again");
    expect(a.templateId).not.toBe(b.templateId);
    expect(m.size).toBe(2);
  });

  it("keeps lines apart by their first token (depth 4), and by more tokens at a greater depth", () => {
    const m = new TemplateMiner();
    expect(m.add("alpha x y z").templateId).not.toBe(m.add("beta x y z").templateId);
    const deep = new TemplateMiner({ depth: 5 });
    const a = deep.add("svc alpha ready now");
    const b = deep.add("svc beta ready now");
    expect(a.templateId).not.toBe(b.templateId);
    // At depth 4 the second token is not a tree key: the two lines merge.
    const shallow = new TemplateMiner({ depth: 4 });
    expect(shallow.add("svc alpha ready now").templateId).toBe(shallow.add("svc beta ready now").templateId);
  });

  it("starts a new template when too few tokens match (similarity threshold)", () => {
    const loose = new TemplateMiner({ similarity: 0.4 });
    const strict = new TemplateMiner({ similarity: 0.9 });
    for (const m of [loose, strict]) {
      m.add("disk sda is full now");
      m.add("disk sdb is empty today");
    }
    // 2 of 5 tokens equal: 0.4.
    expect(loose.size).toBe(1);
    expect(loose.templateOf(1)).toBe("disk <*> is <*> <*>");
    expect(strict.size).toBe(2);
  });

  it("routes a first token with digits through the tree's <*> child", () => {
    const m = new TemplateMiner();
    const a = m.add("node1 joined the ring");
    const b = m.add("node2 joined the ring");
    expect(b.templateId).toBe(a.templateId);
    expect(m.templates()[0]?.path).toEqual(["<*>"]);
    expect(m.templateOf(a.templateId)).toBe("<*> joined the ring");
  });

  it("sends further first tokens to <*> once a node has maxChildren children", () => {
    const m = new TemplateMiner({ maxChildren: 3 });
    for (const w of ["alpha", "beta", "gamma", "delta"]) m.add(`${w} said hello world`);
    const paths = m.templates().map((t) => t.path[0]);
    expect(paths).toEqual(["alpha", "beta", "<*>"]);
    // gamma and delta share the <*> leaf; there the two merge as one template.
    expect(m.size).toBe(3);
    expect(m.templateOf(3)).toBe("<*> said hello world");
  });

  it("matches a fully masked line to the template of such lines", () => {
    const m = new TemplateMiner();
    const a = m.add("12 34");
    expect(m.add("56 78").templateId).toBe(a.templateId);
    expect(m.match("9 10")).toBe(a.templateId);
  });

  it("mines a blank line as the empty template", () => {
    const m = new TemplateMiner();
    const a = m.add("");
    expect(m.add("   ").templateId).toBe(a.templateId);
    expect(m.templateOf(a.templateId)).toBe("");
  });

  it("match() finds without changing anything", () => {
    const m = new TemplateMiner();
    m.add("User alice logged in");
    expect(m.match("User bob logged in")).toBe(1);
    expect(m.templateOf(1)).toBe("User alice logged in");
    expect(m.match("completely different line here")).toBeUndefined();
    expect(m.countOf(1)).toBe(1);
  });

  it("evicts the least recently matched template beyond maxTemplates and prunes its tree nodes", () => {
    const m = new TemplateMiner({ maxTemplates: 2 });
    m.add("alpha one"); // 1
    m.add("beta two three"); // 2
    m.add("alpha one"); // 1 is now the most recent
    const c = m.add("gamma four five six"); // evicts 2
    expect(c).toMatchObject({ templateId: 3, isNew: true, evictedId: 2 });
    expect(m.templates().map((t) => t.id)).toEqual([1, 3]);
    expect(m.match("beta two three")).toBeUndefined();
    expect(m.add("beta two three")).toMatchObject({ templateId: 4, isNew: true, evictedId: 1 });
  });
});

describe("template miner: determinism and state", () => {
  const lines = [...new LogGenerator({ durationMs: 20 * 60_000, seed: 5 }).lines()].map(
    (l) => l.event.message,
  );

  it("gives the same templates and ids for the same lines", () => {
    const a = new TemplateMiner();
    const b = new TemplateMiner();
    const idsA = lines.map((l) => a.add(l).templateId);
    const idsB = lines.map((l) => b.add(l).templateId);
    expect(idsB).toEqual(idsA);
    expect(b.templates()).toEqual(a.templates());
  });

  it("continues after a JSON snapshot and restore exactly as without one (evictions included)", () => {
    const options = { maxTemplates: 4, maxChildren: 3 };
    const straight = new TemplateMiner(options);
    const idsStraight = lines.map((l) => straight.add(l).templateId);
    const ids: number[] = [];
    let miner = new TemplateMiner(options);
    let evictions = 0;
    lines.forEach((l, i) => {
      if (i > 0 && i % 997 === 0) {
        const { header, templates } = roundTrip(miner);
        miner = new TemplateMiner(options);
        miner.restore(header, templates);
      }
      const mined = miner.add(l);
      if (mined.evictedId !== undefined) evictions++;
      ids.push(mined.templateId);
    });
    expect(evictions).toBeGreaterThan(0);
    expect(ids).toEqual(idsStraight);
    expect(miner.templates()).toEqual(straight.templates());
    expect(miner.header()).toEqual(straight.header());
  });

  it("refuses a snapshot mined with other options, or one that does not fit, and stays empty", () => {
    const m = new TemplateMiner();
    for (const l of lines.slice(0, 200)) m.add(l);
    const { header, templates } = roundTrip(m);
    const other = new TemplateMiner({ similarity: 0.7 });
    expect(() => other.restore(header, templates)).toThrow(/other options/);
    expect(other.size).toBe(0);
    const broken = new TemplateMiner();
    const bad = templates.map((t, i) => (i === 0 ? { ...t, path: [...t.path, "extra"] } : t));
    expect(() => broken.restore(header, bad)).toThrow(/does not fit/);
    expect(broken.size).toBe(0);
    const fresh = new TemplateMiner();
    fresh.restore(header, templates);
    expect(fresh.templates()).toEqual(m.templates());
  });

  it("accepts the same masks listed in another order", () => {
    const m = new TemplateMiner({ masks: ["number", "ipv4"] });
    m.add("from 10.0.0.1 took 12 ms");
    const { header, templates } = roundTrip(m);
    const other = new TemplateMiner({ masks: ["ipv4", "number"] });
    other.restore(header, templates);
    expect(other.match("from 10.9.9.9 took 7 ms")).toBe(1);
  });
});

describe("template miner: grouping against generated labels", () => {
  it("groups every generated line exactly as its generator kind (grouping accuracy 1.0)", () => {
    const generator = new LogGenerator({
      durationMs: 2 * 3_600_000,
      sources: ["web-1", "web-2", "db-1", "batch-1"],
      linesPerSec: 1,
      incidents: ERROR_LINE_KINDS.map((k, i) => ({
        name: k.id,
        sources: ["db-1"],
        kind: k.id,
        startMs: T0 + (i + 1) * 1_800_000,
        endMs: T0 + (i + 1) * 1_800_000 + 600_000,
        ratePerSec: 0.2,
      })),
      seed: 17,
    });
    const miner = new TemplateMiner();
    const predicted: number[] = [];
    const truth: string[] = [];
    for (const { event, label } of generator.lines()) {
      predicted.push(miner.add(event.message).templateId);
      truth.push(label);
    }
    const report = groupingAccuracy(predicted, truth);
    expect(report.lines).toBeGreaterThan(20_000);
    expect(report.trueGroups).toBe(10);
    expect(report.predictedGroups).toBe(10);
    expect(report.accuracy).toBe(1);
  });

  it("scores a parse that splits or merges groups below 1", () => {
    expect(groupingAccuracy([1, 1, 2, 2], ["a", "a", "b", "b"]).accuracy).toBe(1);
    // b split in two: its two lines are wrong.
    expect(groupingAccuracy([1, 1, 2, 3], ["a", "a", "b", "b"]).accuracy).toBe(0.5);
    // a and b merged: every line wrong.
    expect(groupingAccuracy([1, 1, 1, 1], ["a", "a", "b", "b"]).accuracy).toBe(0);
  });
});
