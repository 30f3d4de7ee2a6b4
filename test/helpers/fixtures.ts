/**
 * Test fixtures: temporary folders, example data trees, and comparisons of a
 * source tree with its restore.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expect } from "vitest";

/** A fresh temporary folder; `cleanup()` removes it. */
export async function tempDir(prefix = "restorable-test-"): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Writes a WAL-mode SQLite database at `path` with table `t(id INTEGER PRIMARY KEY, v BLOB)` holding
 * `rows` rows of `rowBytes` random bytes, in one transaction.
 */
export function writeWalDatabase(path: string, rows: number, rowBytes: number): void {
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    const ins = db.prepare("INSERT INTO t(v) VALUES (randomblob(?))");
    db.transaction(() => {
      for (let i = 0; i < rows; i++) ins.run(rowBytes);
    })();
  } finally {
    db.close();
  }
}

/**
 * Builds an application-like tree in `dir`: a WAL-mode SQLite database with
 * rows, a bare git repository (real `git`) with an executable hook, plain
 * files (binary, text, empty), nested folders and a symlink.
 */
export async function makeAppTree(dir: string, options: { binaryBytes?: number; rows?: number } = {}): Promise<void> {
  await mkdir(join(dir, "blobs/nested/deeper"), { recursive: true });
  await writeFile(join(dir, "blobs/random.bin"), randomBytes(options.binaryBytes ?? 3 * 1024 * 1024));
  await writeFile(join(dir, "blobs/nested/notes.txt"), "hello restorable\n".repeat(1000));
  await writeFile(join(dir, "blobs/nested/deeper/empty"), "");
  await writeFile(join(dir, "config.json"), JSON.stringify({ handle: "alice.test", n: 1 }));
  await symlink("blobs/nested/notes.txt", join(dir, "notes-link"));
  const db = new Database(join(dir, "app.sqlite"));
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE account(id INTEGER PRIMARY KEY, handle TEXT, balance INTEGER)");
  const insert = db.prepare("INSERT INTO account(handle, balance) VALUES (?, ?)");
  db.transaction(() => {
    for (let i = 0; i < (options.rows ?? 5000); i++) insert.run(`user${i}.test`, 100);
  })();
  db.close();
  const git = (...args: string[]): string => execFileSync("git", args, { cwd: dir, env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } }).toString();
  const work = join(dir, ".work");
  await mkdir(work);
  git("init", "-q", "--bare", "repos/alice.git");
  execFileSync("git", ["init", "-q", work]);
  await writeFile(join(work, "README"), "a repository\n");
  const env = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
  execFileSync("git", ["-C", work, "add", "."], { env });
  execFileSync("git", ["-C", work, "commit", "-q", "-m", "first"], { env });
  execFileSync("git", ["-C", work, "push", "-q", join(dir, "repos/alice.git"), "HEAD:refs/heads/main"], { env });
  await rm(work, { recursive: true, force: true });
  await writeFile(join(dir, "repos/alice.git/hooks/post-receive"), "#!/bin/sh\necho received\n");
  await chmod(join(dir, "repos/alice.git/hooks/post-receive"), 0o755);
}

/** Every path below `dir` (relative, sorted), with type, mode, size, mtime, content and link target. */
export async function describeTree(dir: string): Promise<Map<string, { type: string; mode: number; size: number; mtimeMs: number; content?: Buffer; link?: string }>> {
  const out = new Map<string, { type: string; mode: number; size: number; mtimeMs: number; content?: Buffer; link?: string }>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, r));
      if (st.isDirectory()) {
        out.set(r, { type: "dir", mode: st.mode & 0o7777, size: 0, mtimeMs: st.mtimeMs });
        await walk(r);
      } else if (st.isSymbolicLink()) {
        out.set(r, { type: "symlink", mode: 0, size: 0, mtimeMs: 0, link: await readlink(join(dir, r)) });
      } else {
        out.set(r, { type: "file", mode: st.mode & 0o7777, size: st.size, mtimeMs: st.mtimeMs, content: await readFile(join(dir, r)) });
      }
    }
  };
  await walk("");
  return out;
}

/**
 * Asserts that `restored` holds `source` exactly: same paths, types, modes,
 * bytes, symlink targets and file mtimes (folder mtimes too), except paths
 * for which `skip` returns true (SQLite files, compared by query instead).
 */
export async function expectSameTree(source: string, restored: string, skip: (path: string) => boolean = () => false): Promise<void> {
  const a = await describeTree(source);
  const b = await describeTree(restored);
  expect([...b.keys()].filter((k) => !skip(k))).toEqual([...a.keys()].filter((k) => !skip(k)));
  for (const [path, x] of a) {
    if (skip(path)) continue;
    const y = b.get(path)!;
    expect({ path, type: y.type, mode: y.mode, link: y.link }).toEqual({ path, type: x.type, mode: x.mode, link: x.link });
    if (x.type === "file") {
      expect(y.size, path).toBe(x.size);
      expect(Buffer.compare(y.content!, x.content!), `${path} content`).toBe(0);
      expect(Math.abs(y.mtimeMs - x.mtimeMs), `${path} mtime`).toBeLessThan(1);
    }
  }
}
