/**
 * `git-fsck` and `sqlite-integrity` drill checks: the semantic checks that
 * `verify --semantic` runs (git-fsck.ts, sqlite-integrity.ts), on restored
 * data in the sandbox.
 */
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { findGitDirs, gitFsck } from "./git-fsck.js";
import { sqliteIntegrity } from "./sqlite-integrity.js";
import type { CheckContext, CheckOutcome } from "./types.js";

/**
 * `git fsck --full` on every git directory at or below `path` (hooks and config neutralised).
 * Fails when none is found. Never throws.
 */
export async function runGitFsckCheck(spec: { readonly path: string; readonly timeoutMs: number }, ctx: Pick<CheckContext, "cwd">): Promise<CheckOutcome> {
  const started = performance.now();
  const root = resolve(ctx.cwd, spec.path);
  const expected = `git fsck --full ok for every git directory below ${spec.path}`;
  const dirs = await findGitDirs(root);
  if (dirs.length === 0) {
    return { ok: false, expected, observed: "no git directory found", assertions: [{ what: "git directories found", ok: false, observed: "0" }], durationMs: Math.round(performance.now() - started) };
  }
  const assertions = [];
  for (const d of dirs) {
    const r = await gitFsck(d, spec.timeoutMs);
    assertions.push({ what: `git fsck ${d.slice(root.length + 1) || "."}`, ok: r.ok, observed: r.ok ? "ok" : r.detail });
  }
  const failed = assertions.filter((a) => !a.ok);
  return {
    ok: failed.length === 0, expected,
    observed: failed.length ? `${failed[0]!.what}: ${failed[0]!.observed}` : `${dirs.length} git director${dirs.length === 1 ? "y" : "ies"} ok`,
    assertions, durationMs: Math.round(performance.now() - started),
  };
}

/** SQLite `PRAGMA integrity_check` on a restored database (read-only). Never throws. */
export function runSqliteIntegrityCheck(spec: { readonly db: string }, ctx: Pick<CheckContext, "cwd">): CheckOutcome {
  const started = performance.now();
  const r = sqliteIntegrity(resolve(ctx.cwd, spec.db));
  return {
    ok: r.ok, expected: `PRAGMA integrity_check of ${spec.db} = ok`, observed: r.detail,
    assertions: [{ what: "integrity_check", ok: r.ok, observed: r.detail }], durationMs: Math.round(performance.now() - started),
  };
}
