/**
 * Runs a command for a drill (a post-restore shell step or a `command`
 * check) in its own process group, so a timeout or an interrupted drill can
 * stop it and everything it started: SIGTERM to the group, SIGKILL 2 s
 * later. stdin is closed; stdout and stderr are kept separately (the first
 * `captureBytes` of stdout for pattern matching, the last 4 KiB of each for
 * reports).
 */
import { spawn } from "node:child_process";
import { TailBuffer } from "../sources/run-process.js";

/** Options of {@link execInGroup}. */
export interface ExecOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** Kill the group after this many ms (undefined: no limit). */
  readonly timeoutMs?: number;
  /** Kill the group when this aborts. */
  readonly signal?: AbortSignal;
  /** Bytes of stdout kept from the start (default 1 MiB). */
  readonly captureBytes?: number;
}

/** How the command ended. Never thrown: `spawnError` is set when it could not start. */
export interface ExecResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** The first `captureBytes` of stdout, as UTF-8. */
  readonly stdout: string;
  /** The last 4 KiB of stdout and of stderr. */
  readonly stdoutTail: string;
  readonly stderrTail: string;
  readonly durationMs: number;
  readonly spawnError?: Error;
}

/** Sends `sig` to the process group `pgid`; false when no such group exists any more. */
export function killGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Runs `argv[0]` with `argv[1..]` (no shell) in a new process group; resolves when it ended. */
export function execInGroup(argv: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  const started = Date.now();
  const limit = opts.captureBytes ?? 1024 * 1024;
  const out: Buffer[] = [];
  let outBytes = 0;
  const outTail = new TailBuffer();
  const errTail = new TailBuffer();
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    const child = spawn(file ?? "", args, { env: { ...opts.env }, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let exitCode: number | null = null;
    let signal: NodeJS.Signals | null = null;
    let timedOut = false;
    let aborted = false;
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const stop = (): void => {
      if (child.pid !== undefined) killGroup(child.pid, "SIGTERM");
      timers.push(setTimeout(() => child.pid !== undefined && killGroup(child.pid, "SIGKILL"), 2000));
    };
    const onAbort = (): void => {
      aborted = true;
      stop();
    };
    const finish = (spawnError?: Error): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      opts.signal?.removeEventListener("abort", onAbort);
      // Whatever the command left running in its group goes too.
      if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({
        exitCode, signal, timedOut, aborted,
        stdout: Buffer.concat(out).toString("utf8"), stdoutTail: outTail.toString(), stderrTail: errTail.toString(),
        durationMs: Date.now() - started, ...(spawnError ? { spawnError } : {}),
      });
    };
    child.stdout?.on("data", (b: Buffer) => {
      outTail.push(b);
      if (outBytes < limit) {
        out.push(b.subarray(0, limit - outBytes));
        outBytes += Math.min(b.length, limit - outBytes);
      }
    });
    child.stderr?.on("data", (b: Buffer) => errTail.push(b));
    child.once("error", (err) => finish(err));
    child.once("exit", (code, sig) => {
      exitCode = code;
      signal = sig;
      // A background grandchild may hold the pipes open: do not wait for it long.
      timers.push(setTimeout(() => finish(), 200));
    });
    child.once("close", () => finish());
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.timeoutMs !== undefined) {
      timers.push(setTimeout(() => {
        timedOut = true;
        stop();
      }, opts.timeoutMs));
    }
  });
}

/** "exit status 3", "killed by signal SIGTERM", "timed out after 500 ms", "interrupted", "could not start: ..." */
export function describeExit(r: ExecResult, timeoutMs?: number): string {
  if (r.spawnError) return `could not start: ${r.spawnError.message}`;
  if (r.aborted) return "interrupted";
  if (r.timedOut) return `timed out after ${timeoutMs} ms`;
  return r.signal ? `killed by signal ${r.signal}` : `exit status ${r.exitCode}`;
}
