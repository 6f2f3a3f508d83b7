import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { recordTypes } from "../../schemas/index.js";
import type { OutgoingRecord } from "../../streams/transport/transport.js";
import { killIfRunning } from "../unit/helpers/crash-harness.js";
import { sample } from "../unit/runner-harness.js";
import { type KafkaHarness, kafkaHarness } from "./helpers/kafka-harness.js";

const ROOT = resolve(import.meta.dirname, "../..");
const TSX_LOADER = join(ROOT, "node_modules/tsx/dist/loader.mjs");
const CHILD = join(import.meta.dirname, "helpers/eos-child.ts");
const N = 100_000;
const SOURCES = Array.from({ length: 32 }, (_, i) => `host-${i}`);

/** A child process and its stdout lines, with a way to wait for a line. */
interface Child {
  process: ChildProcess;
  /** Resolves with the first line matching `pattern` (seen or still to come); rejects on exit or after `ms`. */
  line(pattern: RegExp, ms: number): Promise<string>;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
}

function startChild(args: string[]): Child {
  const child = spawn(process.execPath, ["--import", TSX_LOADER, CHILD, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stderr = "";
  let pending = "";
  const listeners = new Set<() => void>();
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.split("\n");
    pending = complete.pop()!;
    lines.push(...complete);
    for (const l of listeners) l();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.on("exit", () => {
    for (const l of listeners) l();
  });
  const output = () => `stdout:\n${lines.slice(-20).join("\n")}\nstderr:\n${stderr.slice(-4000)}`;
  return {
    process: child,
    output,
    line(pattern, ms) {
      return new Promise((ok, fail) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          fail(new Error(`no line matching ${pattern} within ${ms} ms\n${output()}`));
        }, ms);
        const check = () => {
          const found = lines.find((l) => pattern.test(l));
          const exited = child.exitCode !== null || child.signalCode !== null;
          if (found === undefined && !exited) return;
          clearTimeout(timer);
          listeners.delete(check);
          if (found !== undefined) ok(found);
          else
            fail(
              new Error(
                `child exited (${child.exitCode ?? child.signalCode}) before ${pattern}\n${output()}`,
              ),
            );
        };
        listeners.add(check);
        check();
      });
    },
  };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((ok) => child.once("exit", (code, signal) => ok({ code, signal })));
}

let h: KafkaHarness;
let children: ChildProcess[] = [];
beforeEach(async () => {
  h = await kafkaHarness();
});
afterEach(async () => {
  for (const child of children) await killIfRunning(child);
  children = [];
  await h.close();
});

it("exactly-once: a processor killed with SIGKILL mid-transaction and restarted yields every record exactly once", async () => {
  const input = h.name("eos-in");
  const output = h.name("eos-out");
  const appId = h.name("eos");
  await h.admin.createTopics([
    { name: input, partitions: 4 },
    { name: output, partitions: 4 },
  ]);
  const records: OutgoingRecord[] = [];
  let expectedSum = 0;
  for (let seq = 0; seq < N; seq++) {
    const value = sample(seq, SOURCES[seq % SOURCES.length]);
    records.push({
      topic: input,
      key: Buffer.from(value.source),
      value: await h.codec.encode(input, recordTypes.TelemetryEvent, value),
      timestampMs: value.ts,
    });
    expectedSum += seq;
  }
  await h.produceRaw(records);
  const args = [h.brokers, h.registryUrl, appId, input, output];
  const group = `${appId}.echo`;
  const committedTotal = async () =>
    (await h.admin.fetchCommittedOffsets(group, input)).reduce((n, o) => n + o.offset, 0);

  // Run 1: killed the moment a transaction has sent its records but not committed them.
  const first = startChild([...args, String(Math.floor(N * 0.4))]);
  children.push(first.process);
  await first.line(/^open \d+$/, 90_000);
  first.process.kill("SIGKILL");
  expect(await exited(first.process)).toEqual({ code: null, signal: "SIGKILL" });
  const committedAtKill = await committedTotal();
  expect(committedAtKill).toBeGreaterThan(0);
  expect(committedAtKill).toBeLessThan(N);

  // Run 2: the same processor again; it fences the dead one's transactions and finishes the input.
  const second = startChild(args);
  children.push(second.process);
  await second.line(/^started$/, 30_000);
  await h
    .waitFor(
      "the restarted processor to commit every input record",
      async () => ((await committedTotal()) === N ? true : undefined),
      90_000,
    )
    .catch((err: Error) => {
      throw new Error(`${err.message}\n${second.output()}`);
    });
  second.process.kill("SIGTERM");
  expect(await exited(second.process)).toEqual({ code: 0, signal: null });

  const visible = await h.readToEnd(output, { readCommitted: true, ms: 60_000 });
  const seqs = await h.seqs(visible);
  const seen = new Uint8Array(N);
  let duplicates = 0;
  let sum = 0;
  for (const seq of seqs) {
    if (seen[seq] === 1) duplicates++;
    seen[seq] = 1;
    sum += seq;
  }
  expect({ count: seqs.length, duplicates, missing: N - seen.reduce((n, v) => n + v, 0), sum }).toEqual({
    count: N,
    duplicates: 0,
    missing: 0,
    sum: expectedSum,
  });
  // The kill really left records of an open transaction on the broker: a read_uncommitted
  // consumer sees them, a read_committed one does not.
  const everything = await h.readToEnd(output, { readCommitted: false, ms: 60_000 });
  expect(everything.length).toBeGreaterThan(N);
}, 170_000);
