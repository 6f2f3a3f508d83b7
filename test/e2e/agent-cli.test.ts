import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TelemetryEvent } from "../../schemas/index.js";
import { tempDir } from "../unit/helpers/temp-dir.js";
import { runCli } from "./run-cli.js";

describe("spikemesh agent (the command)", { timeout: 90_000 }, () => {
  it("prints the samples it produced, and rejects a bad interval naming the field", async () => {
    const { dir, remove } = await tempDir("spikemesh-agent-cli-");
    try {
      const ok = await runCli(
        [
          "--data-dir",
          join(dir, "data"),
          "agent",
          "--interval",
          "100ms",
          "--count",
          "2",
          "--print",
          "--source",
          "cli",
        ],
        { cwd: dir },
      );
      expect(ok.code, ok.stderr).toBe(0);
      const events = ok.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as TelemetryEvent);
      expect(events.some((e) => e.metric === "disk.write_bytes_per_s")).toBe(true);
      expect(events.every((e) => e.source === "cli")).toBe(true);
      expect(ok.stderr).toContain(
        `agent: 2 sample(s), ${events.length} telemetry and 0 log record(s) produced, 0 error(s)`,
      );
      const bad = await runCli(["--data-dir", join(dir, "data"), "agent", "--interval", "10ms"], {
        cwd: dir,
      });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("agent.intervalMs: at least 100 ms");
    } finally {
      await remove();
    }
  });
});
