import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { meshTopology } from "../../cli/mesh-topology.js";
import {
  buildTopology,
  type LoadedTopology,
  loadTopology,
  parseTopologyText,
  presetNames,
  processorKindNames,
  renderMermaid,
  renderText,
} from "../../cli/topology/index.js";
import { ConfigError, nodeName, type Topology } from "../../streams/index.js";

const build = (text: string, nodes: Record<string, Record<string, unknown>> = {}): LoadedTopology =>
  buildTopology(parseTopologyText(text, "t.yaml", "/topologies"), { appId: "a", partitions: 2, nodes });

/** The problems a bad file is reported with (the test fails if it is accepted). */
function problems(text: string, nodes: Record<string, Record<string, unknown>> = {}): string[] {
  try {
    build(text, nodes);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error("the topology was accepted");
}

/** A node-by-node view: options as the processor parses them (defaults filled in), sorted by name. */
function normalized(t: Topology) {
  return {
    appId: t.appId,
    defaultPartitions: t.defaultPartitions,
    topics: [...(t.topics ?? [])].sort((a, b) => a.name.localeCompare(b.name)),
    nodes: t.nodes
      .map((n) => ({
        name: nodeName(n),
        spec: n.spec,
        options: n.spec.options.parse(n.options ?? {}),
        input: n.input,
        outputs: n.outputs,
        tables: n.tables ?? {},
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

describe("the mesh preset", () => {
  it("builds the same topology as the built-in mesh (nodes, specs, parsed options, bindings, topics)", () => {
    const fromFile = loadTopology("mesh", { appId: "spikemesh", partitions: 3 }).topology;
    const builtIn = meshTopology({ appId: "spikemesh", partitions: 3 });
    expect(fromFile.nodes.length).toBeGreaterThanOrEqual(8);
    expect(normalized(fromFile)).toEqual(normalized(builtIn));
  });

  it("takes the configuration's node overrides the way the built-in mesh does", () => {
    const nodes = {
      router: { windowMs: 10_000 },
      "tier-phi2": { backend: { kind: "llama", modelPath: "/models/phi-2.Q4_K_M.gguf", model: "phi2" } },
      "tier-deepseek": { fallbackTier: "phi2", timeoutMs: 60_000 },
    };
    const fromFile = loadTopology("mesh", { appId: "spikemesh", partitions: 2, nodes }).topology;
    const builtIn = meshTopology({ appId: "spikemesh", partitions: 2, options: nodes });
    expect(normalized(fromFile)).toEqual(normalized(builtIn));
    expect(fromFile.nodes.find((n) => n.name === "tier-deepseek")!.outputs.fallback).toBe("escalations.phi2");
  });
});

describe("presets", () => {
  it("are the topology files in topologies/, the default first (catalogue.yaml is data, not a preset)", () => {
    const names = presetNames();
    expect(names[0]).toBe("mesh");
    expect(names).toContain("swarm");
    expect(names).not.toContain("catalogue");
  });

  it("an unknown preset names the presets", () => {
    expect(() => loadTopology("meshy", { appId: "a", partitions: 1 })).toThrow(
      /unknown preset "meshy" \(presets: mesh, /,
    );
  });

  it("the swarm preset has the eight experts as nodes, one topic each, all answering to the conductor", () => {
    const { topology, swarm } = loadTopology("swarm", { appId: "a", partitions: 2 });
    const experts = [
      "perception",
      "attention",
      "memory",
      "reasoning",
      "creative",
      "analytical",
      "synthesis",
      "meta-cognitive",
    ];
    expect(swarm!.experts.map((e) => e.name)).toEqual(experts);
    for (const e of experts) {
      const node = topology.nodes.find((n) => n.name === `expert-${e}`)!;
      expect(node.input).toBe(`swarm.${e}`);
      expect(node.outputs).toEqual({ answers: "swarm.signals" });
    }
    const conductor = topology.nodes.find((n) => n.name === "swarm-conductor")!;
    expect(conductor.input).toBe("swarm.signals");
    expect(conductor.outputs["meta-cognitive"]).toBe("swarm.meta-cognitive");
    const routes = swarm!.routes.map((r) => `${r.from}→${r.to}:${r.kind}`);
    for (const r of ["perception→reasoning:skip", "memory→synthesis:skip", "attention→creative:skip"])
      expect(routes).toContain(r);
    for (const to of ["synthesis", "reasoning", "attention"])
      expect(routes).toContain(`meta-cognitive→${to}:feedback`);
    expect(swarm).toMatchObject({ maxPropagationDepth: 6, activationThreshold: 0.5 });
  });
});

const MINIMAL = `topology: t
processors:
  - name: filter
    kind: snn-filter
    input: telemetry.raw
    outputs: { spikes: spikes }
`;

describe("bad topology files name the line and the field", () => {
  it("an unknown processor kind", () => {
    expect(problems(MINIMAL.replace("kind: snn-filter", "kind: snn-filtr"))).toEqual([
      `t.yaml:4:5: processors[0].kind: unknown processor kind "snn-filtr" (kinds: ${processorKindNames().join(", ")})`,
    ]);
  });

  it("a missing field", () => {
    expect(problems(MINIMAL.replace("    input: telemetry.raw\n", ""))).toEqual([
      "t.yaml:3:5: processors[0].input: missing (expected string)",
    ]);
  });

  it("a wrong type, in the file's structure and in a processor's options", () => {
    expect(problems(`${MINIMAL}partitions: two\n`)).toEqual([
      't.yaml:7:1: partitions: expected number, got string "two"',
    ]);
    expect(problems(`${MINIMAL}    options: { zDeadband: high }\n`)).toEqual([
      't.yaml:7:16: processors[0].options.zDeadband: expected number, got string "high"',
    ]);
  });

  it("an unknown field, and an output the kind does not have", () => {
    expect(
      problems(
        MINIMAL.replace(
          "outputs: { spikes: spikes }",
          "outputs: { spikes: spikes, scores: s }\n    ouptuts: {}",
        ),
      ),
    ).toEqual(["t.yaml:7:5: processors[0].ouptuts: unknown field"]);
    expect(problems(MINIMAL.replace("outputs: { spikes: spikes }", "outputs: { spike: spikes }"))).toEqual([
      't.yaml:6:5: processors[0].outputs: output "spikes" of snn-filter is not bound to a topic',
      't.yaml:6:16: processors[0].outputs.spike: snn-filter has no output "spike" (outputs: spikes)',
    ]);
  });

  it("a route to an unknown tier: a hand-off, a router output, a swarm route", () => {
    const tiers = `topology: t
tiers:
  - name: rules
  - name: phi2
    handUpTier: deepseek
`;
    expect(problems(tiers)).toEqual([
      't.yaml:5:5: tiers[1].handUpTier: route to an unknown tier "deepseek" (tiers: rules, phi2)',
    ]);
    const router = `topology: t
processors:
  - name: router
    kind: router
    input: spikes
    outputs: { rules: escalations.rules, phi2: escalations.phi2, deepseek: escalations.deepseek }
    tables: { weights: route-weights }
tiers:
  - name: rules
  - name: phi2
`;
    expect(problems(router)).toEqual([
      "t.yaml:6:66: processors[0].outputs.deepseek: routes to escalations.deepseek, an unknown tier (tiers: rules, phi2)",
    ]);
    const swarm = `topology: t
swarm:
  entry: [a]
  experts:
    - name: a
    - name: b
  routes:
    - { from: a, to: b }
    - { from: b, to: c }
`;
    expect(problems(swarm)).toEqual(['t.yaml:9:18: swarm.routes[1].to: unknown expert "c" (experts: a, b)']);
  });

  it("a cycle without a depth limit", () => {
    const swarm = `topology: t
swarm:
  entry: [a]
  experts: [{ name: a }, { name: b }]
  routes:
    - { from: a, to: b }
    - { from: b, to: a, kind: feedback }
`;
    expect(problems(swarm)).toEqual([
      "t.yaml:2:1: swarm.maxPropagationDepth: required: the routes have a cycle (a → b → a), so propagation needs a depth limit",
    ]);
    expect(
      build(swarm.replace("entry: [a]", "entry: [a]\n  maxPropagationDepth: 3")).swarm!.maxPropagationDepth,
    ).toBe(3);
  });

  it("a bad expert backend, and several problems at once", () => {
    const swarm = `topology: t
swarm:
  entry: [a]
  activationThreshold: 1.5
  experts:
    - name: a
      backend: { kind: llama }
      timeoutMs: -1
`;
    expect(problems(swarm)).toEqual([
      "t.yaml:8:7: swarm.experts[0].timeoutMs: Too small: expected number to be >0",
      "t.yaml:4:3: swarm.activationThreshold: Too big: expected number to be <=1",
      "t.yaml:7:7: swarm.experts[0].backend.modelPath: missing (expected string)",
    ]);
  });

  it("YAML syntax, and a problem the configuration's node overrides cause", () => {
    expect(problems("topology: t\nprocessors: [\n  - a\n")[0]).toMatch(/^t\.yaml:3:\d+: not valid YAML: /);
    expect(problems(MINIMAL, { filter: { zDeadband: "high" } })).toEqual([
      "configuration nodes.filter.zDeadband: Invalid input: expected number, received string",
    ]);
  });
});

describe("topology show", () => {
  it("prints the swarm as text and as a Mermaid flowchart", () => {
    const loaded = loadTopology("swarm", { appId: "a", partitions: 2 });
    const text = renderText(loaded);
    expect(text).toContain("topology swarm (topologies/swarm.yaml)");
    expect(text).toMatch(
      /expert-creative\s+swarm-expert\s+swarm\.creative → answers: swarm\.signals\s+\[backend rules\]/,
    );
    expect(text).toMatch(/meta-cognitive → attention\s+feedback weight 1/);
    const mermaid = renderMermaid(loaded);
    expect(mermaid.split("\n")[0]).toBe("flowchart LR");
    expect(mermaid).toContain("t_swarm_signals --> n_swarm_conductor");
    expect(mermaid).toContain('n_swarm_conductor -->|"creative"| t_swarm_creative');
    expect(mermaid).toContain('e_perception -.->|"skip"| e_reasoning');
    expect(mermaid).toContain('e_meta_cognitive ==>|"feedback"| e_attention');
    // Every edge joins nodes the chart declares.
    const declared = new Set([...mermaid.matchAll(/^\s+([a-z]_\w+)[[(]/gm)].map((m) => m[1]));
    for (const m of mermaid.matchAll(/^\s+(\w+) (?:-->|-\.->|==>)(?:\|[^|]*\|)? (\w+)$/gm)) {
      expect(declared.has(m[1]!), m[0]).toBe(true);
      expect(declared.has(m[2]!), m[0]).toBe(true);
    }
  });

  it("hides tier outputs that are never written", () => {
    const text = renderText(loadTopology("mesh", { appId: "a", partitions: 2 }));
    expect(text).toMatch(/tier-rules\s+escalation-tier\s+escalations\.rules → results: reasoning\.results\n/);
  });
});

describe("the README's topology example", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Topologies"));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;

  it("builds: rules tier, swarm intake, conductor and three experts", () => {
    const loaded = buildTopology(parseTopologyText(yaml, "triage.yaml", "/tmp"), {
      appId: "a",
      partitions: 2,
    });
    expect(loaded.topology.nodes.map((n) => n.name)).toEqual([
      "snn-filter",
      "router",
      "tier-rules",
      "swarm-intake",
      "swarm-conductor",
      "expert-perception",
      "expert-reasoning",
      "expert-synthesis",
    ]);
    const reasoning = loaded.topology.nodes.find((n) => n.name === "expert-reasoning")!;
    expect(reasoning.options).toMatchObject({
      timeoutMs: 60_000,
      backend: { kind: "http", model: "qwen2.5-72b-instruct" },
    });
  });

  it("needs its depth limit, with the message the README quotes", () => {
    const without = yaml.replace(/^\s*maxPropagationDepth: 4.*\n/m, "");
    expect(problems(without)).toEqual([
      expect.stringContaining(
        "swarm.maxPropagationDepth: required: the routes have a cycle (reasoning → synthesis → reasoning)",
      ),
    ]);
    expect(section).toContain("required: the routes have a cycle (reasoning → synthesis → reasoning)");
  });
});
