import { hostname } from "node:os";
import { z } from "zod";
import { ConfigError } from "../../streams/index.js";

/**
 * The host agent's settings (`agent:` in spikemesh.yaml, SPIKEMESH_AGENT__*, or the `agent`
 * command's flags). Validated at start with the rest of the configuration.
 */
export const agentOptions = z
  .object({
    /** Time between samples. Default 1000 ms; 100 ms to 1 h. */
    intervalMs: z
      .number()
      .int()
      .min(100, "at least 100 ms (reading /proc more often measures the agent itself)")
      .max(3_600_000, "at most 1 h")
      .default(1_000),
    /** `source` of the agent's events (their record key). Default: this machine's host name. */
    source: z.string().min(1).max(255).regex(/^\S+$/, "no whitespace").optional(),
    /** Tags added to every TelemetryEvent. */
    tags: z.record(z.string(), z.string()).default({}),
    /** Where procfs is mounted (a container may bind the host's under another path). */
    procRoot: z.string().min(1).default("/proc"),
    /** Network interfaces left out of net.rx/tx rates. */
    netExclude: z.array(z.string().min(1)).default(["lo"]),
    /** Topic of the TelemetryEvents. */
    telemetryTopic: z.string().min(1).default("telemetry.raw"),
    /** Log files to follow; each appended line becomes a LogEvent. */
    logs: z.array(z.string().min(1)).default([]),
    /** Topic of the LogEvents. */
    logsTopic: z.string().min(1).default("logs.raw"),
    /** Read the log files from their start instead of following only what is appended from now on. */
    logsFromStart: z.boolean().default(false),
    /** Longer log lines are cut to this many bytes and marked `truncated` in their fields. */
    maxLineBytes: z
      .number()
      .int()
      .min(256)
      .max(512 * 1024)
      .default(16 * 1024),
    /** Records kept for the next try while the transport cannot take them; beyond, the oldest are dropped and counted. */
    maxBacklogRecords: z.number().int().positive().default(100_000),
  })
  .strict();

export type AgentOptions = z.infer<typeof agentOptions>;

/** The agent's `source`: the configured one, else the host name. */
export function agentSource(options: Pick<AgentOptions, "source">): string {
  return options.source ?? hostname();
}

/**
 * The configured agent options with a command's flags on top, validated again as a whole; a bad
 * value is a ConfigError naming its field (`agent.intervalMs: at least 100 ms ...`).
 */
export function resolveAgentOptions(base: AgentOptions, overrides: Partial<AgentOptions>): AgentOptions {
  const merged = {
    ...base,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
  const result = agentOptions.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `agent.${issue.path.map(String).join(".")}: ${issue.message}`),
    );
  }
  return result.data;
}
