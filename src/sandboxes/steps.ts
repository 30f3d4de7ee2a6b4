/**
 * Post-restore steps, run in the order written (like numbered restore steps
 * `10-...`, `20-...`): SQL statements on a restored SQLite database, shell
 * commands, and chmod/chown fixes. A step that fails stops the drill's
 * later steps (the caller marks them skipped); it never throws.
 */
import { lstat, readdir, realpath, chmod, lchown } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import picomatch from "picomatch";
import { formatValue } from "../checks/compare.js";
import { describeExit, execInGroup } from "../checks/exec.js";
import { parseDuration } from "../config/duration.js";
import type { StepConfig } from "../config/drill-schema.js";
import { applyMode, parseMode } from "../config/mode.js";
import { isWithin } from "../core/safe-path.js";
import { substitute, type DrillVars } from "./vars.js";

/** Default limit for a shell step: 5 minutes. */
export const DEFAULT_STEP_TIMEOUT_MS = 5 * 60_000;

/** How one step went. */
export interface StepOutcome {
  readonly ok: boolean;
  /** What it did or saw, in one line ("2 statement(s), 1 row(s) changed", "exit status 0", "3 path(s) changed"). */
  readonly observed: string;
  /** Output tail or error message. */
  readonly detail?: string;
  readonly durationMs: number;
}

/** Where steps run: the sandbox folder, its environment, and the drill's cancel signal. */
export interface StepContext {
  readonly sandbox: string;
  readonly env: Readonly<Record<string, string>>;
  readonly vars: DrillVars;
  readonly signal?: AbortSignal;
}

/**
 * Runs step `index` (`drill.steps[index]`).
 * @throws ConfigError only for a variable naming a source the snapshot lacks (checked at plan time already).
 */
export async function runStep(step: StepConfig, index: number, ctx: StepContext): Promise<StepOutcome> {
  const started = performance.now();
  const field = `drill.steps[${index}]`;
  const took = (): number => Math.round(performance.now() - started);
  switch (step.type) {
    case "sql": {
      const db = resolve(ctx.sandbox, substitute(step.db, ctx.vars, `${field}.db`));
      try {
        const r = runSqlStatements(db, typeof step.statements === "string" ? [step.statements] : step.statements);
        return { ok: true, observed: r, durationMs: took() };
      } catch (err) {
        return { ok: false, observed: `failed: ${(err as Error).message}`, detail: `${db}: ${(err as Error).message}`, durationMs: took() };
      }
    }
    case "shell": {
      const line = substitute(step.run, ctx.vars, `${field}.run`);
      const timeoutMs = step.timeout !== undefined ? parseDuration(step.timeout) : DEFAULT_STEP_TIMEOUT_MS;
      const r = await execInGroup(["/bin/sh", "-c", line], { env: ctx.env, cwd: ctx.sandbox, timeoutMs, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      const ok = !r.spawnError && !r.timedOut && !r.aborted && r.exitCode === 0;
      const output = [r.stdoutTail, r.stderrTail].filter(Boolean).join("\n");
      return { ok, observed: describeExit(r, timeoutMs), ...(output ? { detail: output } : {}), durationMs: r.durationMs };
    }
    case "chmod": {
      try {
        const root = resolve(ctx.sandbox, substitute(step.path, ctx.vars, `${field}.path`));
        const n = await chmodStep(root, ctx.sandbox, step);
        return { ok: true, observed: `${n} path(s) changed`, durationMs: took() };
      } catch (err) {
        return { ok: false, observed: `failed: ${(err as Error).message}`, durationMs: took() };
      }
    }
  }
}

/** Runs statements in one transaction; returns a one-line summary (changes, and the first row of the last query). */
function runSqlStatements(path: string, statements: readonly string[]): string {
  const db = new Database(path, { fileMustExist: true });
  try {
    let changes = 0;
    let lastRow: unknown;
    db.transaction(() => {
      for (const sql of statements) {
        let stmt: Database.Statement;
        try {
          stmt = db.prepare(sql);
        } catch (err) {
          // Several statements in one string: run them as a script (no per-statement counts).
          if (err instanceof RangeError) {
            db.exec(sql);
            continue;
          }
          throw err;
        }
        if (stmt.reader) lastRow = stmt.raw(true).get();
        else changes += stmt.run().changes;
      }
    })();
    return `${statements.length} statement(s), ${changes} row(s) changed${lastRow !== undefined ? `, last query returned ${formatValue(lastRow)}` : ""}`;
  } finally {
    db.close();
  }
}

/** Applies mode/owner to `root` or to the entries below it matching `glob`; returns how many paths changed. Never through a symlink, never outside the sandbox. */
async function chmodStep(root: string, sandbox: string, step: Extract<StepConfig, { type: "chmod" }>): Promise<number> {
  const realSandbox = await realpath(sandbox);
  const real = await realpath(root);
  if (!isWithin(realSandbox, real)) throw new Error(`${root} resolves outside the sandbox (${real})`);
  const mode = step.mode !== undefined ? parseMode(step.mode) : undefined;
  const [uid, gid] = step.owner ? step.owner.split(":").map(Number) : [];
  const apply = async (p: string): Promise<void> => {
    const st = await lstat(p);
    if (st.isSymbolicLink()) throw new Error(`${p} is a symlink; refusing to change what it points to`);
    if (mode) await chmod(p, applyMode(st.mode & 0o7777, mode));
    if (uid !== undefined) await lchown(p, uid, gid ?? st.gid);
  };
  if (step.glob === undefined) {
    await apply(real);
    return 1;
  }
  const match = picomatch(typeof step.glob === "string" ? [step.glob] : [...step.glob], { dot: true });
  let n = 0;
  for (const d of await readdir(real, { recursive: true, withFileTypes: true })) {
    if (d.isSymbolicLink()) continue;
    const p = join(d.parentPath, d.name);
    if (!match(relative(real, p))) continue;
    await apply(p);
    n++;
  }
  if (n === 0) throw new Error(`nothing below ${root} matches ${JSON.stringify(step.glob)}`);
  return n;
}
