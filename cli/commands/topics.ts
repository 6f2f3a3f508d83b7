import { type Command, InvalidArgumentError } from "commander";
import type { CleanupPolicy } from "../../streams/transport/transport.js";
import { runCommand, UsageError, withRuntime } from "../command-context.js";
import { parseDuration } from "../durations.js";
import { intArg } from "./demo.js";

interface CreateFlags {
  partitions: number;
  cleanupPolicy: CleanupPolicy;
  retention?: number;
  retentionBytes?: number;
}

export function registerTopics(program: Command): void {
  const topics = program.command("topics").description("List, create and describe topics");

  topics
    .command("list")
    .description("List topics with their partitions and record counts")
    .option("--json", "print JSON", false)
    .action(async (flags: { json: boolean }, command: Command) => {
      await runCommand(command, (ctx) =>
        withRuntime(ctx, async (runtime) => {
          const admin = runtime.transport.admin();
          const names = (await admin.listTopics()).sort();
          const descriptions = names.length === 0 ? [] : await admin.describeTopics(names);
          const rows = descriptions.map((d) => ({
            topic: d.name,
            partitions: d.partitions.length,
            records: d.partitions.reduce((n, p) => n + p.highOffset - p.lowOffset, 0),
            cleanupPolicy: d.cleanupPolicy,
          }));
          if (flags.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          else
            process.stdout.write(
              table(
                ["topic", "partitions", "records", "cleanup"],
                rows.map((r) => [r.topic, r.partitions, r.records, r.cleanupPolicy]),
              ),
            );
          return 0;
        }),
      );
    });

  topics
    .command("create")
    .description("Create a topic (no change when it exists with the same settings)")
    .argument("<topic>", "topic name")
    .option("--partitions <n>", "number of partitions", intArg(1, 1024), 2)
    .option("--cleanup-policy <policy>", "delete or compact", policyArg, "delete")
    .option("--retention <span>", "time retention (e.g. 7d); default: the runtime's", spanArg)
    .option("--retention-bytes <n>", "size retention per partition", intArg(1, Number.MAX_SAFE_INTEGER))
    .action(async (topic: string, flags: CreateFlags, command: Command) => {
      await runCommand(command, (ctx) =>
        withRuntime(ctx, async (runtime) => {
          await runtime.transport.admin().createTopics([
            {
              name: topic,
              partitions: flags.partitions,
              cleanupPolicy: flags.cleanupPolicy,
              ...(flags.retention === undefined ? {} : { retentionMs: flags.retention }),
              ...(flags.retentionBytes === undefined ? {} : { retentionBytes: flags.retentionBytes }),
            },
          ]);
          process.stderr.write(
            `topic ${topic}: ${flags.partitions} partition(s), cleanup.policy=${flags.cleanupPolicy}\n`,
          );
          return 0;
        }),
      );
    });

  topics
    .command("describe")
    .description(
      "Show a topic's settings, partitions with offsets, and the consumer groups' committed offsets",
    )
    .argument("<topic>", "topic name")
    .option("--json", "print JSON", false)
    .action(async (topic: string, flags: { json: boolean }, command: Command) => {
      await runCommand(command, (ctx) =>
        withRuntime(ctx, async (runtime) => {
          const admin = runtime.transport.admin();
          if (!(await admin.listTopics()).includes(topic)) {
            throw new UsageError(`no such topic: ${topic} (see \`spikemesh topics list\`)`);
          }
          const [d] = await admin.describeTopics([topic]);
          const groups: { group: string; partition: number; committed: number; lag: number }[] = [];
          for (const group of (await admin.listGroups()).sort()) {
            for (const c of await admin.fetchCommittedOffsets(group, topic)) {
              const high = d!.partitions.find((p) => p.partition === c.partition)?.highOffset ?? 0;
              groups.push({
                group,
                partition: c.partition,
                committed: c.offset,
                lag: Math.max(0, high - c.offset),
              });
            }
          }
          if (flags.json) {
            process.stdout.write(`${JSON.stringify({ ...d, groups }, null, 2)}\n`);
            return 0;
          }
          process.stdout.write(
            `topic ${d!.name}  cleanup.policy=${d!.cleanupPolicy}  retention.ms=${d!.retentionMs}  retention.bytes=${d!.retentionBytes}\n`,
          );
          process.stdout.write(
            table(
              ["partition", "low", "high"],
              d!.partitions.map((p) => [p.partition, p.lowOffset, p.highOffset]),
            ),
          );
          if (groups.length > 0) {
            process.stdout.write(
              table(
                ["group", "partition", "committed", "lag"],
                groups.map((g) => [g.group, g.partition, g.committed, g.lag]),
              ),
            );
          }
          return 0;
        }),
      );
    });
}

/** A plain aligned text table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return `${cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

function policyArg(value: string): CleanupPolicy {
  if (value === "delete" || value === "compact") return value;
  throw new InvalidArgumentError(`expected delete or compact, got "${value}"`);
}

function spanArg(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}
