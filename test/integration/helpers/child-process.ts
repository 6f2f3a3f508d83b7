/**
 * Child processes for the multi-process integration tests: started with the tsx loader, stdout kept
 * as lines that a test can wait for, stderr kept for failure messages.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../../..");
const TSX_LOADER = join(ROOT, "node_modules/tsx/dist/loader.mjs");
/** The CLI's entry point, run from the sources. */
export const CLI_MAIN = join(ROOT, "cli/main.ts");

export interface Child {
  readonly process: ChildProcess;
  /** Resolves with the first stdout line matching `pattern` (seen or still to come); rejects on exit or after `ms`. */
  line(pattern: RegExp, ms: number): Promise<string>;
  /** The last stdout lines and stderr, for failure messages. */
  output(): string;
  /** stderr so far. */
  stderr(): string;
}

/** Runs `node --import tsx <script> ...args` in the repository root. */
export function startChild(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, ["--import", TSX_LOADER, script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stderr = "";
  let pending = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.split("\n");
    pending = complete.pop()!;
    lines.push(...complete);
    for (const l of listeners) l();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const l of listeners) l();
  });
  child.on("exit", () => {
    for (const l of listeners) l();
  });
  const output = () => `stdout:\n${lines.slice(-20).join("\n")}\nstderr:\n${stderr.slice(-4000)}`;
  return {
    process: child,
    output,
    stderr: () => stderr,
    line(pattern, ms) {
      return new Promise((ok, fail) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          fail(new Error(`no line matching ${pattern} within ${ms} ms\n${output()}`));
        }, ms);
        const check = () => {
          const found = lines.find((l) => pattern.test(l));
          const isExited = child.exitCode !== null || child.signalCode !== null;
          if (found === undefined && !isExited) return;
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

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((ok) => child.once("exit", (code, signal) => ok({ code, signal })));
}
