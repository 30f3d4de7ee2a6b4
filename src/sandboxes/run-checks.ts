/**
 * Turns a `drill.checks[i]` entry into the resolved spec of its check type
 * (variables substituted, defaults applied) and runs it. Shared by the
 * local and kind sandboxes.
 */
import { parseExpectation, type Expectation } from "../checks/compare.js";
import { runCommandCheck } from "../checks/command.js";
import { runFileCheck } from "../checks/file.js";
import { runHttpCheck } from "../checks/http.js";
import { parseJsonPathExpectation } from "../checks/json-path.js";
import { runGitFsckCheck, runSqliteIntegrityCheck } from "../checks/repo-checks.js";
import { runSqlCheck } from "../checks/sql.js";
import type { CheckOutcome } from "../checks/types.js";
import type { CheckConfig } from "../config/drill-schema.js";
import { parseDuration } from "../config/duration.js";
import { parseMode, requiredBits } from "../config/mode.js";
import { substitute, type DrillVars } from "./vars.js";

/** Default time limits (ms): an HTTP request 10 s, a command 60 s, git fsck 5 min. */
export const CHECK_TIMEOUTS = { http: 10_000, command: 60_000, gitFsck: 300_000 } as const;

/** Where checks run. */
export interface CheckRunContext {
  readonly sandbox: string;
  readonly env: Readonly<Record<string, string>>;
  readonly vars: DrillVars;
  readonly signal?: AbortSignal;
}

/** A configured expectation: `== 5`-style text, or a plain value meaning `==`. */
export function toExpectation(v: string | number | boolean | null): Expectation {
  if (typeof v === "string" && /^\s*(==|!=|>=|<=|>|<|!?exists\s*$)/.test(v)) return parseExpectation(v);
  return { kind: "compare", op: "==", value: v };
}

/**
 * Runs check `index` (`drill.checks[index]`). Check failures are outcomes, not errors.
 * @throws ConfigError only for a variable naming a source the snapshot lacks (checked at plan time already).
 */
export async function runCheck(check: CheckConfig, index: number, ctx: CheckRunContext): Promise<CheckOutcome> {
  const field = `drill.checks[${index}]`;
  const sub = (text: string, key: string): string => substitute(text, ctx.vars, `${field}.${key}`);
  const base = { cwd: ctx.sandbox, env: ctx.env, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  switch (check.type) {
    case "http": {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(check.headers ?? {})) headers[k] = sub(v, `headers.${k}`);
      let body: string | undefined;
      if (typeof check.body === "string") body = sub(check.body, "body");
      else if (check.body !== undefined) {
        body = JSON.stringify(check.body);
        if (!Object.keys(headers).some((k) => k.toLowerCase() === "content-type")) headers["content-type"] = "application/json";
      }
      return runHttpCheck({
        method: check.method ?? "GET", url: sub(check.url, "url"), headers,
        ...(body !== undefined ? { body } : {}),
        status: check.status === undefined ? [200] : typeof check.status === "number" ? [check.status] : check.status,
        expect: (check.expect ?? []).map((e) => parseJsonPathExpectation(e)),
        contains: check.contains === undefined ? [] : typeof check.contains === "string" ? [check.contains] : check.contains,
        timeoutMs: check.timeout !== undefined ? parseDuration(check.timeout) : CHECK_TIMEOUTS.http,
      }, base);
    }
    case "sql":
      return runSqlCheck({
        db: sub(check.db, "db"), query: check.query,
        ...(check.expect !== undefined ? { expect: toExpectation(check.expect) } : {}),
        ...(check.rows !== undefined ? { rows: toExpectation(check.rows) } : {}),
      }, base);
    case "command": {
      const argv = check.run ? check.run.map((a, i) => sub(a, `run[${i}]`)) : ["/bin/sh", "-c", sub(check.shell!, "shell")];
      return runCommandCheck({
        argv, display: check.run ? argv.join(" ") : (check.shell ?? ""), exit: check.exit ?? 0,
        ...(check.stdout ? { stdout: new RegExp(check.stdout, "m") } : {}),
        ...(check.stderr ? { stderr: new RegExp(check.stderr, "m") } : {}),
        timeoutMs: check.timeout !== undefined ? parseDuration(check.timeout) : CHECK_TIMEOUTS.command,
      }, base);
    }
    case "file": {
      const bits = check.mode !== undefined ? requiredBits(parseMode(check.mode)) : {};
      const size = check.size;
      return runFileCheck({
        path: sub(check.path, "path"), exists: check.exists ?? true,
        ...(bits.exact !== undefined ? { modeExact: bits.exact } : {}),
        ...(bits.has !== undefined ? { modeHas: bits.has } : {}),
        ...(check.mode !== undefined ? { modeText: String(check.mode) } : {}),
        ...(check.sha256 ? { sha256: check.sha256.toLowerCase() } : {}),
        ...(typeof size === "number" ? { minSize: size, maxSize: size } : {}),
        ...(typeof size === "object" && size.min !== undefined ? { minSize: size.min } : {}),
        ...(typeof size === "object" && size.max !== undefined ? { maxSize: size.max } : {}),
      }, base);
    }
    case "git-fsck":
      return runGitFsckCheck({ path: sub(check.path, "path"), timeoutMs: check.timeout !== undefined ? parseDuration(check.timeout) : CHECK_TIMEOUTS.gitFsck }, base);
    case "sqlite-integrity":
      return runSqliteIntegrityCheck({ db: sub(check.db, "db") }, base);
  }
}
