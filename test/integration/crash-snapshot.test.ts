/**
 * Acceptance: 30 SIGKILLs of `restorable snapshot` at seeded offsets. After
 * them every visible snapshot is complete (restores to its manifest hashes,
 * verify --read-data passes), nothing else became visible, and the next
 * snapshot succeeds without a manual unlock.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Repository } from "../../src/repo/repository.js";
import { restore } from "../../src/ops/restore/restore.js";
import { verify } from "../../src/ops/verify/verify.js";
import { LocalStore } from "../../src/store/local.js";
import { ensureBuilt, CLI } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { TEST_SEED, rng } from "../helpers/random.js";

const KILLS = 30;
const MAX_ROUNDS = 60;
const SEED = TEST_SEED;


function runSnapshot(env: NodeJS.ProcessEnv, args: string[], killAfterMs?: number): Promise<{ code: number | null; signal: string | null; stdout: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", () => undefined);
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, ms: performance.now() - started });
    });
  });
}

describe("snapshot killed at random points", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ensureBuilt();
    dir = await tempDir();
  });
  afterAll(() => dir.cleanup());

  it(`leaves only complete snapshots after ${KILLS} SIGKILLs (seed ${SEED})`, async () => {
    console.log(`crash test seed: ${SEED} (replay with RESTORABLE_TEST_SEED=${SEED})`);
    const random = rng(SEED);
    const data = join(dir.path, "data");
    await mkdir(join(data, "files"), { recursive: true });
    const db = new Database(join(data, "app.sqlite"));
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    const ins = db.prepare("INSERT INTO t(v) VALUES (?)");
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) ins.run(randomBytes(500));
    })();
    for (let i = 0; i < 24; i++) await writeFile(join(data, "files", `f${i}`), randomBytes(384 * 1024));
    // Small packs, so a run writes many objects and kills land between them.
    const repoDir = join(dir.path, "repo");
    const repo = await Repository.init(new LocalStore(repoDir), { kind: "password", password: "pw" }, { scryptN: 1024, packTarget: 256 * 1024 });
    // Work folders (database copies) go to a temp folder of this test: killed runs leave theirs there.
    const tmp = join(dir.path, "tmp");
    await mkdir(tmp);
    const env = { ...process.env, RESTORABLE_REPOSITORY: repoDir, RESTORABLE_PASSWORD: "pw", TMPDIR: tmp };
    const args = ["snapshot", data, "--json"];

    const mutate = async (): Promise<void> => {
      // New data every round: rewrite two files and add rows.
      for (let k = 0; k < 2; k++) await writeFile(join(data, "files", `f${Math.floor(random() * 24)}`), randomBytes(384 * 1024));
      db.transaction(() => {
        for (let i = 0; i < 200; i++) ins.run(randomBytes(500));
      })();
    };
    const first = await runSnapshot(env, args);
    expect(first.code, first.stdout).toBe(0);
    const completed = new Set<string>([JSON.parse(first.stdout).snapshot.id as string]);
    // An uncut incremental run measures how long the runs we kill take.
    await mutate();
    const second = await runSnapshot(env, args);
    expect(second.code, second.stdout).toBe(0);
    completed.add(JSON.parse(second.stdout).snapshot.id as string);
    const runMs = second.ms;
    let killed = 0;
    let rounds = 0;
    for (; killed < KILLS && rounds < MAX_ROUNDS; rounds++) {
      await mutate();
      // Offsets cover the whole run, from process start to just past its usual end.
      const offset = Math.floor(random() * runMs * 1.05);
      const r = await runSnapshot(env, args, offset);
      if (r.signal === "SIGKILL") killed++;
      else {
        expect(r.code, r.stdout).toBe(0);
        completed.add(JSON.parse(r.stdout).snapshot.id as string);
      }
    }
    db.close();
    console.log(`crash test: ${killed} kills in ${rounds} runs, an uncut run takes ${Math.round(runMs)} ms`);
    expect(killed).toBe(KILLS);

    const visible = await repo.listSnapshotIds();
    // Every snapshot that reported success is there; anything else visible was killed after its commit.
    for (const id of completed) expect(visible).toContain(id);
    expect(visible.length).toBeLessThanOrEqual(2 + rounds);
    const manifests = await repo.listSnapshots();
    const report = await verify(repo, manifests, { readData: true, annotate: false });
    expect(report.snapshots.filter((s) => !s.ok)).toEqual([]);
    for (const m of manifests) {
      const result = await restore(repo, m, { target: join(dir.path, "restore", m.id), verify: true });
      expect(result.verified).toBe(true);
    }
    // The next snapshot needs no unlock, even though killed runs left their locks behind...
    const workDirs = async (): Promise<string[]> => (await readdir(tmp)).filter((n) => n.startsWith("restorable-"));
    console.log(`crash test: ${(await workDirs()).length} work folder(s) left by killed runs before the next snapshot`);
    const next = await runSnapshot(env, args);
    expect(next.code, next.stdout).toBe(0);
    // ...and removed the work folders (with their database copies) that the killed runs left behind.
    expect(await workDirs()).toEqual([]);
  }, 600_000);
});
