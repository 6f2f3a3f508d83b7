import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../cli/config.js";
import { buildProgram } from "../../cli/program.js";
import { ConfigError } from "../../streams/index.js";

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

describe("spikemesh program", () => {
  it("has the issue's commands, each with a description and --help", () => {
    const program = buildProgram();
    const names = allCommands(program).map((c) => c.name());
    for (const expected of [
      "demo",
      "produce",
      "consume",
      "tail",
      "topics",
      "list",
      "create",
      "describe",
      "print",
    ]) {
      expect(names).toContain(expected);
    }
    for (const command of allCommands(program)) {
      expect(command.description(), command.name()).not.toBe("");
      expect(command.helpInformation(), command.name()).toContain("-h, --help");
    }
  });
});

describe("loadConfig", () => {
  it("layers defaults, environment and flags, flags winning", () => {
    const config = loadConfig({
      file: undefined,
      env: { SPIKEMESH_RUNNER__MAX_RETRIES: "7", SPIKEMESH_DATA_DIR: "/from/env", OTHER: "x" },
      flags: { dataDir: "/from/flag" },
    });
    expect(config.runner.maxRetries).toBe(7);
    expect(config.runner.partitions).toBe(2);
    expect(config.dataDir).toBe("/from/flag");
  });

  it("names every bad field", () => {
    let error: unknown;
    try {
      loadConfig({ env: { SPIKEMESH_RUNNER__GUARANTEE: "maybe", SPIKEMESH_APP_ID: "has space" }, flags: {} });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toContain("runner.guarantee");
    expect(problems).toContain("appId");
  });

  it("rejects unknown fields rather than ignoring them", () => {
    expect(() => loadConfig({ env: {}, flags: { runner: { maxBatch: 3 } } })).toThrow(/runner/);
  });
});
