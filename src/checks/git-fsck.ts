/**
 * `git fsck` on a restored repository, with every configuration that could
 * run code neutralised: no system or global config, hooks pointed at
 * /dev/null, fsmonitor off, so nothing from the restored data executes.
 */
import { execFile } from "node:child_process";
import { access, readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** True when `dir` looks like a git directory (bare repo or `.git`): HEAD, objects/, refs/. */
export async function isGitDir(dir: string): Promise<boolean> {
  try {
    await access(join(dir, "HEAD"));
    return (await stat(join(dir, "objects"))).isDirectory() && (await stat(join(dir, "refs"))).isDirectory();
  } catch {
    return false;
  }
}

/** Every git directory below `root` (not descending into a git directory once found). */
export async function findGitDirs(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    if (await isGitDir(dir)) {
      out.push(dir);
      return;
    }
    let names: import("node:fs").Dirent[];
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names) if (d.isDirectory()) await walk(join(dir, d.name));
  };
  await walk(root);
  return out.sort();
}

/** Runs `git fsck --full` on `gitDir`; ok when it exits 0. */
export function gitFsck(gitDir: string, timeoutMs = 300_000): Promise<{ ok: boolean; detail: string }> {
  const args = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "safe.directory=*", `--git-dir=${gitDir}`, "fsck", "--full", "--no-progress"];
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/nonexistent", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", LANG: "C" };
  return new Promise((resolve) => {
    execFile("git", args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`.trim().split("\n").slice(-10).join("\n");
      resolve({ ok: !err, detail: err ? out || (err as Error).message : "ok" });
    });
  });
}
