import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { meshTopology } from "../../cli/mesh-topology.js";
import { escalationTierOptionsSchema } from "../../processors/escalation-tier/index.js";
import { validateTopology } from "../../streams/topology/topology.js";

const node = (t: ReturnType<typeof meshTopology>, name: string) => t.nodes.find((n) => n.name === name)!;

describe("mesh topology tiers", () => {
  it("stands in rules for the model tiers, phi2 handing up to deepseek and both falling back to rules", () => {
    const t = meshTopology({ appId: "a", partitions: 1 });
    expect(validateTopology(t)).toEqual([]);
    const phi2 = node(t, "tier-phi2");
    expect(escalationTierOptionsSchema.parse(phi2.options)).toMatchObject({
      tier: "phi2",
      handUpTier: "deepseek",
      fallbackTier: "rules",
      backend: { kind: "rules", model: "rules (stand-in for phi2)" },
    });
    expect(phi2.outputs).toEqual({
      results: "reasoning.results",
      handUp: "escalations.deepseek",
      fallback: "escalations.rules",
    });
    expect(node(t, "tier-deepseek").outputs.fallback).toBe("escalations.rules");
  });

  it("takes model backends from the configuration's nodes map", () => {
    const t = meshTopology({
      appId: "a",
      partitions: 1,
      options: {
        "tier-phi2": { backend: { kind: "llama", modelPath: "/models/phi-2.Q4_K_M.gguf", model: "phi2" } },
        "tier-deepseek": {
          backend: { kind: "http", baseUrl: "http://gpu-box:8080/v1", model: "deepseek-r1" },
          fallbackTier: "phi2",
        },
      },
    });
    const phi2 = escalationTierOptionsSchema.parse(node(t, "tier-phi2").options);
    expect(phi2.backend).toMatchObject({
      kind: "llama",
      modelPath: "/models/phi-2.Q4_K_M.gguf",
      maxThreads: expect.any(Number),
    });
    expect(phi2.handUpTier).toBe("deepseek");
    const deepseek = escalationTierOptionsSchema.parse(node(t, "tier-deepseek").options);
    expect(deepseek.backend).toMatchObject({ kind: "http", responseFormat: "json_schema" });
    expect(node(t, "tier-deepseek").outputs.fallback).toBe("escalations.phi2");
  });

  it("rejects a hand-off to a tier the mesh does not have", () => {
    expect(() =>
      meshTopology({ appId: "a", partitions: 1, options: { "tier-phi2": { handUpTier: "gpt5" } } }),
    ).toThrow(/nodes\.tier-phi2\.handUpTier: "gpt5" is not a tier of the mesh/);
  });

  it("accepts the README's model tier configuration", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Model tiers"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const config = parseYaml(yaml) as { nodes: Record<string, Record<string, unknown>> };
    const t = meshTopology({ appId: "a", partitions: 1, options: config.nodes });
    expect(escalationTierOptionsSchema.parse(node(t, "tier-phi2").options).backend).toMatchObject({
      kind: "llama",
      maxThreads: 4,
    });
    expect(escalationTierOptionsSchema.parse(node(t, "tier-deepseek").options)).toMatchObject({
      timeoutMs: 60_000,
      backend: { kind: "llama", gpuLayers: "max", sequences: 8 },
    });
  });
});
