/**
 * Work folders in the system temp folder: a snapshot's (database copies,
 * command output) and a semantic verify's (a temporary restore). A process
 * that is killed (SIGKILL, the OOM killer, a CI timeout) cannot remove its
 * own, and a snapshot's can hold a copy of a whole database, so each folder
 * is named after the process that made it, `restorable-<kind>-<pid>@<host>-XXXXXX`,
 * and the next command removes those whose process is gone.
 */
import { lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";

/** What the folder is for. */
export type WorkDirKind = "snap" | "verify";

/** The host as it appears in folder names (characters outside `[A-Za-z0-9._-]` become `_`). */
function hostTag(): string {
  return hostname().replace(/[^A-Za-z0-9._-]/g, "_");
}

const NAME = /^restorable-(snap|verify)-(\d+)@(.+)-[A-Za-z0-9]{6}$/;

/**
 * Creates a work folder (mode 0700, as mkdtemp makes it) in `parent` (default the system temp folder).
 * @returns its absolute path. @throws the file system's error when it cannot be created.
 */
export async function makeWorkDir(kind: WorkDirKind, parent = tmpdir()): Promise<string> {
  return mkdtemp(join(parent, `restorable-${kind}-${process.pid}@${hostTag()}-`));
}

/** True when a process with this id exists here (EPERM: it exists but is another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the work folders in `parent` (default the system temp folder) left by processes of this host
 * that no longer run. Only folders of this user, named by makeWorkDir, with this host's name: another
 * host or container sharing the folder may have live processes with the same ids. Best effort: a folder
 * that cannot be removed is left.
 * @returns the folders removed (absolute paths).
 */
export async function sweepWorkDirs(parent = tmpdir()): Promise<string[]> {
  const host = hostTag();
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m || m[3] !== host) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || alive(pid)) continue;
    const path = join(parent, name);
    try {
      const st = await lstat(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // vanished meanwhile, or not ours to remove
    }
  }
  return removed;
}
