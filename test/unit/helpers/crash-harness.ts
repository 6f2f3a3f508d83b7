import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { IncomingRecord, OutgoingRecord, Transport } from "../../../streams/transport/transport.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const WRITER = join(import.meta.dirname, "crash-writer.ts");

/** Starts crash-writer.ts as a plain node process (tsx as a loader, so SIGKILL hits the writer itself). */
export function spawnCrashWriter(dataDir: string, round: number, ackPath: string): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", WRITER, dataDir, String(round), ackPath], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * Sends SIGKILL as soon as the child announces iteration `iteration` on stdout, and resolves once
 * it has exited (so its pid is dead and its lock stale). Rejects if it exits on its own.
 */
export function killAtIteration(child: ChildProcess, iteration: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let pending = "";
    let stderr = "";
    let isKilled = false;
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop()!;
      if (!isKilled && lines.length > 0 && Number(lines.at(-1)) >= iteration) {
        isKilled = true;
        child.kill("SIGKILL");
      }
    });
    child.on("exit", (code, signal) => {
      if (isKilled && signal === "SIGKILL") resolvePromise();
      else reject(new Error(`crash writer exited by itself (code ${code}, signal ${signal}):\n${stderr}`));
    });
  });
}

/** Stops a child that is still running (test cleanup). */
export async function killIfRunning(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

/** What the writer acknowledged, from the complete lines of its ack file. */
export interface Acks {
  /** Per acknowledged send (in order from 0): partition → offset of its first record there. */
  sends: Map<number, number>[];
  /** The last acknowledged group commit, by partition. */
  lastCommit: number[] | undefined;
  /** Acknowledged transaction numbers, in order. */
  transactions: number[];
}

/** Parses an ack file; a last line without its newline was torn by the kill and does not count. */
export function readAcks(path: string): Acks {
  const lines = readFileSync(path, "utf8").split("\n");
  lines.pop();
  const acks: Acks = { sends: [], lastCommit: undefined, transactions: [] };
  for (const line of lines) {
    const [kind, ...fields] = line.split(" ");
    if (kind === "S") {
      if (Number(fields[0]) !== acks.sends.length) throw new Error(`ack file out of order at "${line}"`);
      acks.sends.push(new Map(fields.slice(1).map((f) => f.split(":").map(Number) as [number, number])));
    } else if (kind === "C") acks.lastCommit = fields[0]!.split(",").map(Number);
    else if (kind === "T") acks.transactions.push(Number(fields[0]));
    else throw new Error(`unexpected ack line "${line}"`);
  }
  return acks;
}

/** Size of every file under `dir`, by path joined onto `dir` (the way the log names its files). */
export function fileSizes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isFile()) out.set(path, stat.size);
  }
  return out;
}

/** Sum of the sizes of the files directly in `dir`. */
export function bytesIn(sizes: ReadonlyMap<string, number>, dir: string): number {
  let n = 0;
  for (const [path, size] of sizes) if (path.startsWith(`${dir}/`)) n += size;
  return n;
}

/** Every record of `topic`, by partition, in offset order (read with a throwaway group). */
export async function readByPartition(t: Transport, topic: string): Promise<IncomingRecord[][]> {
  const [description] = await t.admin().describeTopics([topic]);
  const out = description!.partitions.map((): IncomingRecord[] => []);
  let remaining = description!.partitions.reduce((n, p) => n + p.highOffset - p.lowOffset, 0);
  const consumer = t.consumer({ groupId: `verify-${topic}-${Date.now()}` });
  await consumer.subscribe([topic]);
  while (remaining > 0) {
    const got = await consumer.poll({ maxRecords: 10_000, maxWaitMs: 1000 });
    if (got.length === 0) break;
    for (const r of got) out[r.partition]!.push(r);
    remaining -= got.length;
  }
  await consumer.close();
  return out;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

function sameRecord(got: IncomingRecord, want: OutgoingRecord): boolean {
  const headers = want.headers ?? {};
  return (
    sameBytes(got.key, want.key) &&
    sameBytes(got.value, want.value) &&
    got.timestampMs === want.timestampMs &&
    Object.keys(got.headers).length === Object.keys(headers).length &&
    Object.entries(headers).every(([k, v]) => got.headers[k] === v)
  );
}

/**
 * Differences between a partition's records and the expected ones: offsets must run 0, 1, 2, …
 * and record `i` must equal `want[i]`. Returns at most a few messages.
 */
export function recordProblems(
  label: string,
  got: readonly IncomingRecord[],
  want: readonly OutgoingRecord[],
) {
  const problems: string[] = [];
  if (got.length !== want.length) problems.push(`${label}: ${got.length} records, expected ${want.length}`);
  for (let i = 0; i < Math.min(got.length, want.length) && problems.length < 5; i++) {
    if (got[i]!.offset !== i) problems.push(`${label}: record ${i} has offset ${got[i]!.offset}`);
    else if (!sameRecord(got[i]!, want[i]!))
      problems.push(`${label}: offset ${i} differs from what was sent`);
  }
  return problems;
}
