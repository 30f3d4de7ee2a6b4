/**
 * Run a child process without a shell, keep only the tail of its output,
 * and report how it ended. Shared by command sources and hooks.
 */

import { spawn } from "node:child_process";

/** How many bytes of output are kept for error messages (the last 4 KiB). */
export const OUTPUT_TAIL_BYTES = 4096;

/** Keeps the last `limit` bytes written to it. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private length = 0;
  constructor(private readonly limit: number = OUTPUT_TAIL_BYTES) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    while (this.chunks.length > 1 && this.length - (this.chunks[0]?.length ?? 0) >= this.limit) {
      this.length -= this.chunks.shift()?.length ?? 0;
    }
  }
  /** The kept bytes as UTF-8 (a character cut at the start shows as U+FFFD), trimmed. */
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString("utf8").trim();
  }
}

/** Options of {@link runProcess}. */
export interface RunProcessOptions {
  readonly env: Record<string, string>;
  readonly cwd?: string;
  /** A file descriptor that receives stdout; when absent stdout is captured into the tail with stderr. */
  readonly stdoutFd?: number;
  /** Kill the process group (SIGTERM, then SIGKILL 2 s later) after this many ms. */
  readonly timeoutMs?: number;
}

/** How a process ended. `spawnError` is set when it could not start at all (e.g. ENOENT). */
export interface RunProcessResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** Last 4 KiB of stderr (and of stdout when it is not redirected to `stdoutFd`). */
  readonly outputTail: string;
  readonly durationMs: number;
  readonly spawnError?: Error;
}

/**
 * Run `file` with `args` (no shell), stdin closed. Resolves when the process
 * has exited and its pipes are drained (or 200 ms after exit if a background
 * grandchild keeps them open). Never rejects.
 */
export function runProcess(file: string, args: readonly string[], opts: RunProcessOptions): Promise<RunProcessResult> {
  const started = Date.now();
  const tail = new TailBuffer();
  return new Promise((resolve) => {
    const useGroup = opts.timeoutMs !== undefined;
    const child = spawn(file, [...args], {
      env: opts.env,
      cwd: opts.cwd,
      stdio: ["ignore", opts.stdoutFd ?? "pipe", "pipe"],
      detached: useGroup,
    });
    let exitCode: number | null = null;
    let signal: NodeJS.Signals | null = null;
    let timedOut = false;
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (spawnError?: Error): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ exitCode, signal, timedOut, outputTail: tail.toString(), durationMs: Date.now() - started, ...(spawnError ? { spawnError } : {}) });
    };
    const kill = (sig: NodeJS.Signals): void => {
      try {
        if (useGroup && child.pid !== undefined) process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        // already gone
      }
    };
    child.stdout?.on("data", (b: Buffer) => tail.push(b));
    child.stderr?.on("data", (b: Buffer) => tail.push(b));
    child.once("error", (err) => finish(err));
    child.once("exit", (code, sig) => {
      exitCode = code;
      signal = sig;
      timers.push(setTimeout(() => finish(), 200));
    });
    child.once("close", () => finish());
    if (opts.timeoutMs !== undefined) {
      timers.push(
        setTimeout(() => {
          timedOut = true;
          kill("SIGTERM");
          timers.push(setTimeout(() => kill("SIGKILL"), 2000));
        }, opts.timeoutMs),
      );
    }
  });
}

/** "exit status 3", "killed by signal SIGTERM" or "timed out after 500 ms (killed by signal SIGTERM)". */
export function describeEnd(r: RunProcessResult, timeoutMs?: number): string {
  const end = r.signal ? `killed by signal ${r.signal}` : `exit status ${r.exitCode}`;
  return r.timedOut ? `timed out after ${timeoutMs} ms (${end})` : end;
}
