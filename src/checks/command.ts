/**
 * `command` check: runs a program (argv, no shell) or `/bin/sh -c LINE` in
 * its own process group with the drill's allow-listed environment, and
 * asserts its exit status and, optionally, that regular expressions match
 * its stdout / stderr.
 */
import { describeExit, execInGroup } from "./exec.js";
import type { CheckAssertion, CheckContext, CheckOutcome, CommandCheckSpec } from "./types.js";
import { formatValue } from "./compare.js";

/** Runs a `command` check. Never throws. */
export async function runCommandCheck(spec: CommandCheckSpec, ctx: CheckContext): Promise<CheckOutcome> {
  const r = await execInGroup(spec.argv, { env: ctx.env, cwd: ctx.cwd, timeoutMs: spec.timeoutMs, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  const parts = [`${spec.display} -> exit ${spec.exit}`];
  if (spec.stdout) parts.push(`stdout ~ /${spec.stdout.source}/`);
  if (spec.stderr) parts.push(`stderr ~ /${spec.stderr.source}/`);
  const expected = parts.join("; ");
  const ended = describeExit(r, spec.timeoutMs);
  const assertions: CheckAssertion[] = [{ what: `exit ${spec.exit}`, ok: !r.spawnError && !r.timedOut && !r.aborted && r.exitCode === spec.exit, observed: ended }];
  if (spec.stdout) assertions.push({ what: `stdout ~ /${spec.stdout.source}/`, ok: spec.stdout.test(r.stdout), observed: formatValue(r.stdoutTail, 300) });
  if (spec.stderr) assertions.push({ what: `stderr ~ /${spec.stderr.source}/`, ok: spec.stderr.test(r.stderrTail), observed: formatValue(r.stderrTail, 300) });
  const failed = assertions.find((a) => !a.ok);
  const output = [r.stdoutTail && `stdout: ${r.stdoutTail}`, r.stderrTail && `stderr: ${r.stderrTail}`].filter(Boolean).join("\n");
  return {
    ok: !failed, expected,
    observed: failed ? `${failed.what}: got ${failed.observed}` : ended,
    assertions, ...(output ? { detail: output } : {}), durationMs: r.durationMs,
  };
}
