import { rm } from "node:fs/promises";
import { join } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import type { Logger } from "../../streams/index.js";
import { resolveAgentOptions } from "../agent/agent-options.js";
import type { HostAgentTotals } from "../agent/host-agent.js";
import { runCommand, withRuntime } from "../command-context.js";
import { type DemoProgress, runDemo } from "../demo/run-demo.js";
import type { DemoSummary } from "../demo/summary.js";
import { parseDuration } from "../durations.js";
import { liveView } from "../live-view/live-view.js";
import {
  addMetricsOptions,
  type MetricsFlags,
  type MetricsServer,
  withMetricsServer,
} from "../metrics-server.js";
import { progressBar, statusLine } from "../progress.js";

interface DemoFlags extends MetricsFlags {
  duration: number;
  step: number;
  hosts: number;
  seed: number;
  keepRunning: boolean;
  waitForScrape: boolean;
  json: boolean;
  reset: boolean;
  agent: boolean;
  agentInterval?: number;
  agentSource?: string;
  agentLogs?: string[];
}

export function registerDemo(program: Command): void {
  const demo = program
    .command("demo")
    .description(
      "Run the mesh on the embedded runtime over generated host telemetry with labelled incidents, then print a summary read back from the topics",
    )
    .option(
      "--duration <span>",
      "simulated history replayed at full speed (e.g. 6h, 90m)",
      durationArg,
      6 * 3_600_000,
    )
    .option("--step <span>", "spacing of samples per series (e.g. 10s)", durationArg, 10_000)
    .option("--hosts <n>", "simulated hosts, 4 metrics each (3-100)", intArg(3, 100), 6)
    .option("--seed <n>", "generator seed", intArg(0, 2 ** 31), 7)
    .option("--keep-running", "after the history, keep producing live samples until Ctrl-C", false)
    .option(
      "--wait-for-scrape",
      "with --metrics-port: once the mesh has started, wait (at most 60 s) for Prometheus to scrape /metrics before producing, so dashboards see every counter start at zero",
      false,
    )
    .option("--json", "print the summary as JSON on stdout", false)
    .option("--reset", "on Kafka: delete the demo's topics (left by an earlier run) before starting", false)
    .option(
      "--agent",
      "also run the host agent: this machine's CPU, memory, disk, network and process metrics go through the same SNN filter (implies --keep-running)",
      false,
    )
    .option(
      "--agent-interval <span>",
      "the agent's sampling interval (default 1s; config agent.intervalMs)",
      durationArg,
    )
    .option("--agent-source <id>", "source id of the agent's events (default: the host name)")
    .option(
      "--agent-logs <files>",
      "log files the agent follows into logs.raw, comma-separated",
      (v: string) =>
        v
          .split(",")
          .map((f) => f.trim())
          .filter((f) => f !== ""),
    );
  addMetricsOptions(demo)
    .addHelpText(
      "after",
      "\nThe demo works in <dataDir>/demo, emptied at start. The phi2 and deepseek tiers are answered by the rules\nbackend here (each result's model says so); point the tiers at GGUF models with `spikemesh run`.",
    )
    .action(async (flags: DemoFlags, command: Command) => {
      await runCommand(command, async (ctx) => {
        const agent = flags.agent
          ? resolveAgentOptions(ctx.config.agent, {
              intervalMs: flags.agentInterval,
              source: flags.agentSource,
              logs: flags.agentLogs,
            })
          : undefined;
        const dataDir = join(ctx.config.dataDir, "demo");
        await rm(dataDir, { recursive: true, force: true });
        const progress = progressPrinter();
        const run = await withRuntime(
          ctx,
          (runtime) =>
            withMetricsServer(
              flags,
              ctx.log,
              (metrics, server) =>
                runDemo(runtime, ctx.config, ctx.log, {
                  ...(flags.waitForScrape && server
                    ? { beforeProducing: () => waitForScrape(server, ctx.log) }
                    : {}),
                  durationMs: flags.duration,
                  stepMs: flags.step,
                  hosts: flags.hosts,
                  seed: flags.seed,
                  keepRunning: flags.keepRunning || flags.agent,
                  signal: ctx.signal,
                  onProgress: progress.update,
                  resetTopics: flags.reset,
                  metrics,
                  ...(agent ? { agent } : {}),
                }),
              () => liveView(runtime, ctx.log, { appId: ctx.config.appId, fromBeginning: true }),
            ),
          { dataDir },
        );
        progress.done();
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(run.agent ? { ...run.summary, agent: run.agent } : run.summary, null, 2)}\n`
            : formatSummary(run.summary, run.wallMs, run.agent),
        );
        return 0;
      });
    });
}

function progressPrinter(): { update(p: DemoProgress): void; done(): void } {
  const line = statusLine();
  return {
    update(p) {
      const produced =
        p.phase === "live" ? `${fmt(p.produced)} events` : `${fmt(p.produced)}/${fmt(p.total)} events`;
      const agent = p.agentSamples === undefined ? "" : ` · agent ${fmt(p.agentSamples)} samples`;
      const text = `${p.phase}: ${produced} · ${fmt(p.spikes)} spikes · ${fmt(p.escalations)} escalations · ${fmt(p.results)} results${agent}`;
      const bar =
        p.phase === "replaying history" && process.stderr.isTTY ? `${progressBar(p.produced, p.total)} ` : "";
      line.show(`${bar}${text}`);
    },
    done: line.done,
  };
}

/** The human summary; every number in it was read back from the topics. */
export function formatSummary(s: DemoSummary, wallMs: number, agent?: HostAgentTotals): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const pairs = (r: Record<string, number>) =>
    Object.keys(r).length === 0
      ? "none"
      : Object.entries(r)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(", ");
  const lines = [
    `spikemesh demo: summary (read back from the topics, ${(wallMs / 1000).toFixed(1)} s wall)`,
    `  events           ${fmt(s.events)} (${fmt(s.events - s.logLines)} on telemetry.raw, ${fmt(s.logLines)} log lines on logs.raw)`,
    `  spikes           ${fmt(s.spikes)} on spikes`,
    "  spikes by source:",
    ...Object.entries(s.spikesBySource)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([source, byMetric]) => {
        const total = Object.values(byMetric).reduce((a, b) => a + b, 0);
        const metrics = Object.entries(byMetric)
          .sort(([, a], [, b]) => b - a)
          .map(([m, n]) => `${m || "(none)"} ${fmt(n)}`)
          .join(", ");
        return `    ${source.padEnd(14)} ${fmt(total)} (${metrics})`;
      }),
    `  suppression      ${pct(s.suppression)} of events woke nothing`,
    `  escalations      ${pairs(s.escalations)}`,
    `  model calls      ${s.modelCallsPer1000Events.toFixed(2)} per 1000 events (phi2 + deepseek requests)`,
    `  verdicts         ${pairs(s.verdicts)}`,
    `  answered by      ${pairs(s.models)}`,
    `  control actions  ${pairs(s.actions)}`,
    `  feedback         ${pairs(s.feedback)}`,
    `  route weights    ${s.routeWeights.length === 0 ? "none yet" : s.routeWeights.map((w) => `${w.route} ${w.weight.toFixed(3)} (${w.updates} updates)`).join(", ")}`,
    `  dead letters     ${pairs(s.deadLetters)}`,
    ...(agent
      ? [
          `  host agent       ${fmt(agent.samples)} samples, ${fmt(agent.telemetryRecords)} telemetry and ${fmt(agent.logRecords)} log records, ${fmt(agent.errors)} errors`,
        ]
      : []),
    "  labelled incidents:",
    ...s.incidents.map(
      (i) =>
        `    ${i.escalatedTo.length > 0 ? "caught" : "MISSED"}  ${i.name}: ${i.spikes} spikes` +
        (i.escalatedTo.length > 0
          ? `, escalated to ${i.escalatedTo.join("+")}, verdict ${i.verdicts.join("/") || "pending"}`
          : ""),
    ),
  ];
  return `${lines.join("\n")}\n`;
}

const fmt = (n: number) => n.toLocaleString("en-US");

function durationArg(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function intArg(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

/** Waits for the next scrape of the metrics endpoint; after 60 s without one, goes on with a warning. */
async function waitForScrape(server: MetricsServer, log: Logger): Promise<void> {
  log.info({ url: `${server.url}/metrics` }, "waiting for a scrape of /metrics before producing");
  if (!(await server.nextScrape(60_000))) {
    log.warn("no scrape of /metrics within 60 s; producing anyway");
  }
}
