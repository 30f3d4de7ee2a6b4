/**
 * Pre/post snapshot hooks (shell commands such as "dump a Redis key first"
 * or "take a lock") and the allow-listed environment every hook and command
 * source runs with.
 */

import { ConfigError, HookError } from "../core/errors.js";
import { describeEnd, runProcess } from "./run-process.js";

/** Names passed through by {@link safeEnv} without being asked for. `LC_*` is matched as a prefix. */
export const BASE_ENV_NAMES: readonly string[] = ["PATH", "HOME", "LANG", "LC_*", "TZ", "TMPDIR", "USER"];

/** The repository's own secrets: never passed to a child process, even when allowed. */
export const NEVER_PASSED_ENV: readonly string[] = ["RESTORABLE_PASSWORD", "RESTORABLE_KEY"];

const SECRET_LIKE = /SECRET|TOKEN|PASSWORD|PASSWD|KEY|CREDENTIAL/i;

/** True for names that look like credentials: AWS_*, or containing SECRET, TOKEN, PASSWORD, PASSWD, KEY or CREDENTIAL (any case). */
export function isSecretLikeEnvName(name: string): boolean {
  return name.startsWith("AWS_") || SECRET_LIKE.test(name);
}

function matches(pattern: string, name: string): boolean {
  return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/**
 * An allow-listed copy of `env` for hooks and command sources.
 *
 * Kept: PATH, HOME, LANG, LC_*, TZ, TMPDIR, USER, plus the names in `allow`.
 * An `allow` entry is an exact name or a prefix ending in `*` ("PG*"). A
 * secret-like name (see {@link isSecretLikeEnvName}: AWS_*, *SECRET*,
 * *TOKEN*, *PASSWORD*, *KEY*...) is passed only when listed by its exact
 * name, never through a `*` pattern. RESTORABLE_PASSWORD and RESTORABLE_KEY
 * are never passed. Variables whose value is undefined are dropped.
 *
 * @throws ConfigError when `allow` names RESTORABLE_PASSWORD or RESTORABLE_KEY
 *   (`details.field` = "allow").
 */
export function safeEnv(env: Readonly<Record<string, string | undefined>>, allow: readonly string[] = []): Record<string, string> {
  for (const a of allow) {
    if (NEVER_PASSED_ENV.includes(a)) {
      throw new ConfigError(`environment variable ${a} can never be passed to a hook or command (allow list)`, { field: "allow", name: a });
    }
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || NEVER_PASSED_ENV.includes(name)) continue;
    const explicit = allow.includes(name);
    const byPattern = [...BASE_ENV_NAMES, ...allow.filter((a) => a.endsWith("*"))].some((p) => matches(p, name));
    if (explicit || (byPattern && !isSecretLikeEnvName(name))) out[name] = value;
  }
  return out;
}

/** A hook to run. */
export interface HookSpec {
  /** Which hook: "pre" runs before the snapshot reads its sources, "post" after. */
  readonly name: "pre" | "post";
  /** A shell command line, run as `/bin/sh -c <command>`. */
  readonly command: string;
  /** The environment; defaults to `safeEnv(process.env)`. */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** Kill the hook (SIGTERM to its process group, SIGKILL 2 s later) after this many ms; no limit by default. */
  readonly timeoutMs?: number;
}

/** A hook that succeeded. */
export interface HookResult {
  /** Last 4 KiB of its stdout and stderr, interleaved. */
  readonly output: string;
  readonly durationMs: number;
}

/**
 * Run a pre/post hook with `/bin/sh -c` and wait for it.
 * @throws HookError when it cannot start, exits non-zero, dies from a signal
 *   or times out: the message names the hook, the exit status and the last
 *   4 KiB of its output; `details` holds hook, command, exitCode, signal, timedOut, output.
 */
export async function runHook(spec: HookSpec): Promise<HookResult> {
  const r = await runProcess("/bin/sh", ["-c", spec.command], {
    env: spec.env ?? safeEnv(process.env),
    ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
    ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
  });
  const details = { hook: spec.name, command: spec.command, exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, output: r.outputTail };
  if (r.spawnError) {
    throw new HookError(`${spec.name} hook could not start (/bin/sh -c ${JSON.stringify(spec.command)}): ${r.spawnError.message}`, details, {
      cause: r.spawnError,
    });
  }
  if (r.exitCode !== 0 || r.timedOut) {
    const tail = r.outputTail ? `; output:\n${r.outputTail}` : "; no output";
    throw new HookError(`${spec.name} hook failed: ${JSON.stringify(spec.command)} ended with ${describeEnd(r, spec.timeoutMs)}${tail}`, details);
  }
  return { output: r.outputTail, durationMs: r.durationMs };
}
