/**
 * Command source: the stdout of any command (pg_dump, redis-cli --rdb -,
 * a custom export script...) stored as one file.
 */

import { randomUUID } from "node:crypto";
import { open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, SourceError } from "../core/errors.js";
import { safeEnv } from "./hooks.js";
import { describeEnd, runProcess } from "./run-process.js";
import type { SourceEntry } from "./types.js";

/** What to run. */
export interface CommandSourceSpec {
  /** argv: program then arguments; run without a shell (PATH lookup for the program). */
  readonly command: readonly string[];
  /** Path of the resulting entry: relative POSIX path, no leading "/", no "."/".." segments (e.g. "db.sql"). */
  readonly name: string;
  /** Existing folder where stdout is written (file mode 0600); the caller removes it. */
  readonly tempDir: string;
  /** The environment; defaults to `safeEnv(process.env)`. */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** Kill the command (process group, SIGTERM then SIGKILL) after this many ms; no limit by default. */
  readonly timeoutMs?: number;
}

function validName(name: string): boolean {
  return name !== "" && !name.startsWith("/") && !name.includes("\0") && name.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/**
 * Run the command and capture its stdout into a temporary file in `tempDir`.
 *
 * @returns one entry: path `name`, type file, mode 0o600, uid/gid/mtime/size
 *   of the temporary file, ctimeMs and ino 0, `contentPath` = the temporary
 *   file (the caller deletes it after reading), chunking cdc, reusable false.
 * @throws ConfigError for an empty `command` or an invalid `name`.
 * @throws SourceError when the command cannot start or exits non-zero / by
 *   signal / on timeout; the message names the command, the exit status and
 *   the last 4 KiB of stderr. The temporary file is removed.
 */
export async function runCommandSource(spec: CommandSourceSpec): Promise<SourceEntry> {
  const [program, ...args] = spec.command;
  if (program === undefined || program === "") {
    throw new ConfigError("command source: \"command\" must be a non-empty argv array", { field: "command" });
  }
  if (!validName(spec.name)) {
    throw new ConfigError(`command source: "name" must be a relative path without "." or ".." segments, got ${JSON.stringify(spec.name)}`, {
      field: "name",
    });
  }
  const outPath = join(spec.tempDir, `command-${randomUUID()}.out`);
  const shown = spec.command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
  const out = await open(outPath, "wx", 0o600);
  let ok = false;
  try {
    const r = await runProcess(program, args, {
      env: spec.env ?? safeEnv(process.env),
      stdoutFd: out.fd,
      ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
      ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
    });
    const details = { name: spec.name, command: [...spec.command], exitCode: r.exitCode, signal: r.signal, stderr: r.outputTail };
    if (r.spawnError) {
      throw new SourceError(`command source "${spec.name}": cannot run \`${shown}\`: ${r.spawnError.message}`, details, { cause: r.spawnError });
    }
    if (r.exitCode !== 0 || r.timedOut) {
      const tail = r.outputTail ? `; stderr:\n${r.outputTail}` : "; no stderr output";
      throw new SourceError(`command source "${spec.name}" failed: \`${shown}\` ended with ${describeEnd(r, spec.timeoutMs)}${tail}`, details);
    }
    ok = true;
  } finally {
    await out.close();
    if (!ok) await rm(outPath, { force: true });
  }
  const st = await stat(outPath);
  return {
    path: spec.name,
    type: "file",
    mode: 0o600,
    uid: st.uid,
    gid: st.gid,
    mtimeMs: st.mtimeMs,
    ctimeMs: 0,
    ino: 0,
    size: st.size,
    contentPath: outPath,
    chunking: { mode: "cdc" },
    reusable: false,
  };
}
