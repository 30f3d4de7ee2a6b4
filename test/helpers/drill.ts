/**
 * Helpers for drill tests: a repository in a temporary folder, a loaded
 * restorable.yml from text, the fixture application, and process checks.
 */
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { parseConfigText, type LoadedConfig } from "../../src/config/load.js";
import { Repository } from "../../src/repo/repository.js";
import { LocalStore } from "../../src/store/local.js";

/** The fixture application (test/fixtures/drill-app/server.mjs). */
export const DRILL_APP = resolve(import.meta.dirname, "../fixtures/drill-app/server.mjs");

/** A new repository in `<dir>/repo` (cheap scrypt). */
export function newRepo(dir: string): Promise<Repository> {
  return Repository.init(new LocalStore(join(dir, "repo")), { kind: "password", password: "pw" }, { scryptN: 1024 });
}

/** Writes `text` to `<dir>/restorable.yml` and loads it as the CLI would. */
export async function loadConfig(dir: string, text: string): Promise<LoadedConfig> {
  const file = join(dir, "restorable.yml");
  await writeFile(file, text);
  return { label: "restorable.yml", file, dir, config: parseConfigText(text, "restorable.yml") };
}

/** A WAL-mode SQLite database at `path` with an `account(handle, balance)` table and `n` rows (alice.test first). */
export function makeAccountsDb(path: string, n = 5): void {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE account(id INTEGER PRIMARY KEY, handle TEXT NOT NULL, balance INTEGER NOT NULL)");
  const ins = db.prepare("INSERT INTO account(handle, balance) VALUES (?, ?)");
  for (let i = 0; i < n; i++) ins.run(i === 0 ? "alice.test" : `user${i}.test`, 100 + i);
  db.close();
}

/** True while a process with this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the processes in process group `pgid`, as `ps` sees them (empty when the group is gone). */
export function groupMembers(pgid: number): number[] {
  const out = execFileSync("ps", ["-e", "-o", "pid=,pgid="], { encoding: "utf8" });
  return out.split("\n").map((l) => l.trim().split(/\s+/).map(Number)).filter(([, g]) => g === pgid).map(([p]) => p!);
}
