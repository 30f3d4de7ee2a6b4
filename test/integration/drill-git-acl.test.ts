/**
 * The second drill scenario (seed 000, the knot forge): a folder of bare
 * git repositories whose post-receive hooks must stay executable, plus a
 * SQLite database with a per-repository ACL table. The drill restores it,
 * adds the ACL rows of a repository created after the backup (a
 * post-restore SQL step, as in the runbook), and checks it with git fsck,
 * a hook execute-bit check and SQL checks.
 *
 * And the other way round: the same drill on snapshots with one thing
 * broken (a missing hook file, a dropped ACL table, a lost execute bit)
 * must fail, every time, on the check that covers it.
 *
 * Needs `git` on PATH (fails, never skips, without it).
 */
import { execFileSync } from "node:child_process";
import { chmod, cp, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDrill } from "../../src/ops/drill.js";
import { snapshot } from "../../src/ops/snapshot/snapshot.js";
import type { Repository } from "../../src/repo/repository.js";
import { tempDir } from "../helpers/fixtures.js";
import { loadConfig, newRepo } from "../helpers/drill.js";

const DID = "did:plc:wydyrngmxbcsqdvhmd7whmye";
const REPOS = ["infrastructure", "site"];

let dir: { path: string; cleanup: () => Promise<void> };
let repo: Repository;
const snaps: Record<string, string> = {};

function git(args: readonly string[], cwd: string): void {
  const env = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
  try {
    execFileSync("git", [...args], { cwd, env, stdio: "pipe" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new Error("this test needs `git` on PATH (apt-get install git)", { cause: err });
    throw err;
  }
}

/** A knot-like data folder: repositories/<did>/<name>.git with executable hooks, and data/knotserver.db with ACLs. */
async function makeKnot(root: string): Promise<void> {
  await mkdir(join(root, "data"), { recursive: true });
  const work = join(root, "..", `work-${Math.random().toString(16).slice(2)}`);
  for (const name of REPOS) {
    const bare = join(root, "repositories", DID, `${name}.git`);
    await mkdir(bare, { recursive: true });
    git(["init", "-q", "--bare", bare], root);
    await mkdir(work, { recursive: true });
    git(["init", "-q", work], root);
    await writeFile(join(work, "README.md"), `# ${name}\n`);
    git(["-C", work, "add", "."], root);
    git(["-C", work, "commit", "-q", "-m", "first"], root);
    git(["-C", work, "push", "-q", bare, "HEAD:refs/heads/main"], root);
    await rm(work, { recursive: true, force: true });
    await writeFile(join(bare, "hooks/post-receive"), "#!/bin/sh\nexec knot hook post-receive\n");
    await chmod(join(bare, "hooks/post-receive"), 0o755);
  }
  const db = new Database(join(root, "data/knotserver.db"));
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE acl(p TEXT, v0 TEXT, v1 TEXT, v2 TEXT, v3 TEXT, v4 TEXT, v5 TEXT)");
  const ins = db.prepare("INSERT INTO acl VALUES ('p', ?, 'thisserver', ?, ?, '', '')");
  for (const name of REPOS) for (const action of ["repo:settings", "repo:push", "repo:owner", "repo:invite", "repo:delete"]) ins.run(DID, `${DID}/${name}`, action);
  db.close();
}

const CONFIG = `
drill:
  steps:
    - name: 10-acl-for-new-repo
      type: sql
      db: \${sources.knot}/data/knotserver.db
      statements:
        - INSERT INTO acl VALUES ('p','${DID}','thisserver','${DID}/new-repo','repo:push','','')
        - INSERT INTO acl VALUES ('p','${DID}','thisserver','${DID}/new-repo','repo:owner','','')
  checks:
    - { name: fsck, type: git-fsck, path: "\${sources.knot}/repositories" }
${REPOS.map((r) => `    - { name: hook-${r}, type: file, path: "\${sources.knot}/repositories/${DID}/${r}.git/hooks/post-receive", mode: u+x }`).join("\n")}
    - name: acl-push
      type: sql
      db: \${sources.knot}/data/knotserver.db
      query: SELECT count(*) FROM acl WHERE v2 = '${DID}/infrastructure' AND v3 = 'repo:push'
      expect: 1
    - { name: acl-rows, type: sql, db: "\${sources.knot}/data/knotserver.db", query: "SELECT * FROM acl", rows: ">= 12" }
    - { name: db-integrity, type: sqlite-integrity, db: "\${sources.knot}/data/knotserver.db" }
`;

beforeAll(async () => {
  dir = await tempDir("restorable-knot-");
  repo = await newRepo(dir.path);
  const good = join(dir.path, "good/knot");
  await makeKnot(good);
  const variants: Record<string, (root: string) => Promise<void>> = {
    good: async () => undefined,
    "missing-file": async (root) => rm(join(root, "repositories", DID, "site.git/hooks/post-receive")),
    "dropped-table": async (root) => {
      const db = new Database(join(root, "data/knotserver.db"));
      db.exec("DROP TABLE acl");
      db.close();
    },
    "lost-exec-bit": async (root) => chmod(join(root, "repositories", DID, "infrastructure.git/hooks/post-receive"), 0o644),
  };
  for (const [name, breakIt] of Object.entries(variants)) {
    const root = join(dir.path, name, "knot");
    if (name !== "good") await cp(good, root, { recursive: true, preserveTimestamps: true });
    await breakIt(root);
    snaps[name] = (await snapshot(repo, { sources: [{ kind: "directory", name: "knot", path: root }], tags: [name] })).manifest.id;
  }
});
afterAll(() => dir.cleanup());

describe("drill of a git forge: bare repositories with hooks and an ACL database", () => {
  it("passes on a good snapshot: git fsck, execute bits, ACLs (with the post-restore ACL insert)", async () => {
    const loaded = await loadConfig(dir.path, CONFIG);
    const r = await runDrill(repo, loaded, { env: process.env, snapshot: snaps.good!, tmpDir: dir.path });
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.steps[0]).toMatchObject({ status: "passed", observed: "2 statement(s), 2 row(s) changed" });
    expect(r.checks.map((c) => [c.name, c.status, c.observed])).toEqual([
      ["fsck", "passed", "2 git directories ok"],
      ["hook-infrastructure", "passed", "file, mode 0755, 38 bytes, 0755"],
      ["hook-site", "passed", "file, mode 0755, 38 bytes, 0755"],
      ["acl-push", "passed", "1"],
      ["acl-rows", "passed", "12"],
      ["db-integrity", "passed", "ok"],
    ]);
  });

  const broken: [string, string, RegExp][] = [
    ["missing-file", "hook-site", /^exists: got missing$/],
    ["dropped-table", "acl-push", /^query failed: .*no such table: acl$/],
    ["lost-exec-bit", "hook-infrastructure", /^mode u\+x: got 0644$/],
  ];

  it.each(broken)("fails, every time, on a snapshot with one thing broken: %s (check %s)", async (variant, check, observed) => {
    const loaded = await loadConfig(dir.path, CONFIG);
    for (let run = 0; run < 3; run++) {
      const r = await runDrill(repo, loaded, { env: process.env, snapshot: snaps[variant]!, tmpDir: dir.path, record: false });
      expect(r.ok, `${variant}, run ${run + 1}`).toBe(false);
      if (variant === "dropped-table") {
        // The post-restore ACL insert is the first to notice: later steps and every check are skipped.
        expect(r.steps[0]).toMatchObject({ status: "failed", observed: "failed: no such table: acl" });
        expect(r.checks.find((c) => c.name === check)?.status).toBe("skipped");
        const again = await runDrill(repo, await loadConfig(dir.path, CONFIG.replace(/ {2}steps:[\s\S]*?(?= {2}checks:)/, "")), { env: process.env, snapshot: snaps[variant]!, tmpDir: dir.path, record: false });
        expect(again.ok).toBe(false);
        expect(again.checks.find((c) => c.name === check)).toMatchObject({ status: "failed", observed: expect.stringMatching(observed) });
      } else {
        const failed = r.checks.filter((c) => c.status === "failed");
        expect(failed.map((c) => c.name)).toEqual([check]);
        expect(failed[0]!.observed).toMatch(observed);
      }
    }
  });
});
