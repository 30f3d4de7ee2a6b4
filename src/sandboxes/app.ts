/**
 * The application under drill, as a local process: started in its own
 * process group (detached) so that stopping it stops everything it
 * started; stdin closed; stdout and stderr appended to a log file (so its
 * output survives even if restorable dies, and `--keep` leaves it for
 * reading). Stop = SIGTERM to the group, then SIGKILL after the stop
 * timeout, then wait until no process of the group is left.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { open, type FileHandle } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { killGroup } from "../checks/exec.js";

/** How the application ended (when it did). */
export interface AppExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** What `stop()` had to do. */
export interface AppStopResult {
  /** `none` (already gone), `SIGTERM` (stopped in time) or `SIGKILL` (forced). */
  readonly how: "none" | "SIGTERM" | "SIGKILL";
  /** True when some process of the group was still there after SIGKILL (should not happen). */
  readonly leftovers: boolean;
  readonly durationMs: number;
}

/** A running application. */
export class AppProcess {
  /** Set once the leader process has exited. */
  exit: AppExit | undefined;
  /** Resolves when the leader process exits (or could not start). */
  readonly exited: Promise<AppExit>;
  /** Set when the command could not be started (ENOENT, EACCES...). */
  spawnError: Error | undefined;

  private constructor(private readonly child: ChildProcess, private readonly log: FileHandle) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      child.once("error", (err) => {
        this.spawnError = err;
        this.exit ??= { code: null, signal: null };
        resolve(this.exit);
      });
    });
  }

  /** Process id of the leader, which is also the process group id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Starts `argv` (no shell) in a new process group, output appended to `logFile`.
   * Never throws for a command that cannot start: `spawnError` and `exited` say so.
   */
  static async start(argv: readonly string[], opts: { readonly cwd: string; readonly env: Readonly<Record<string, string>>; readonly logFile: string }): Promise<AppProcess> {
    const log = await open(opts.logFile, "a");
    const [file, ...args] = argv;
    const child = spawn(file ?? "", args, { cwd: opts.cwd, env: { ...opts.env }, stdio: ["ignore", log.fd, log.fd], detached: true });
    return new AppProcess(child, log);
  }

  /** True while some process of the group exists. */
  groupAlive(): boolean {
    return this.child.pid !== undefined && killGroup(this.child.pid, 0);
  }

  /**
   * Stops the group: SIGTERM, wait up to `graceMs` for every process of the group to go, then SIGKILL
   * and wait up to 5 s more. Safe to call twice.
   */
  async stop(graceMs: number): Promise<AppStopResult> {
    const started = Date.now();
    const pid = this.child.pid;
    const done = async (how: AppStopResult["how"]): Promise<AppStopResult> => {
      await this.log.close().catch(() => undefined);
      return { how, leftovers: this.groupAlive(), durationMs: Date.now() - started };
    };
    if (pid === undefined || !this.groupAlive()) return done("none");
    killGroup(pid, "SIGTERM");
    if (await this.waitGone(graceMs)) return done("SIGTERM");
    killGroup(pid, "SIGKILL");
    await this.waitGone(5000);
    return done("SIGKILL");
  }

  private async waitGone(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!this.groupAlive()) return true;
      await sleep(25);
    }
    return !this.groupAlive();
  }
}
