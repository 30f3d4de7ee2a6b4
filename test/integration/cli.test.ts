/**
 * End-to-end test of the BUILT command line (`node bin/restorable.js`) on a
 * local repository in a temporary folder: init, snapshot of a folder holding
 * a WAL-mode SQLite database (held open, its last commits only in the WAL),
 * a bare git repository with an executable hook, a symlink and nested
 * folders; snapshots/ls/diff/verify/restore, byte-for-byte comparison of the
 * restored tree, SQLite integrity_check and git fsck of the restored copies,
 * key management, repair index, and bad input with distinct exit codes.
 *
 * Needs `git` on PATH (fails, never skips, without it). Builds the CLI with
 * tsc when build/ is missing or older than src/. RESTORABLE_SCRYPT_N=1024
 * keeps password slots cheap.
 */
import Database from "better-sqlite3";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, unlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ensureBuilt } from "../helpers/cli.js";

const BIN = CLI;
const PASSWORD = "correct horse battery staple";

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Environment without the runner's own RESTORABLE_* variables. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("RESTORABLE_")) env[k] = v;
  return env;
}

let work = "";
let repoDir = "";

/** Runs the CLI; `env` adds to (or, with undefined values, removes from) the default environment. */
function cli(args: readonly string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...baseEnv(), RESTORABLE_REPOSITORY: repoDir, RESTORABLE_PASSWORD: PASSWORD, RESTORABLE_SCRYPT_N: "1024", ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? work, env: env as NodeJS.ProcessEnv, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A parsed `--json` document; the tests check it field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** Runs the CLI and expects exit 0; returns the parsed JSON document when `--json` is among the args. */
async function ok(args: readonly string[], opts: Parameters<typeof cli>[1] = {}): Promise<CliResult & { json: Json }> {
  const r = await cli(args, opts);
  if (r.code !== 0) throw new Error(`restorable ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return { ...r, json: args.includes("--json") ? JSON.parse(r.stdout) : undefined };
}

function git(args: readonly string[], cwd: string): string {
  try {
    return execFileSync("git", [...args], { cwd, encoding: "utf8", env: { ...baseEnv(), GIT_CONFIG_NOSYSTEM: "1", HOME: work } });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new Error("this test needs `git` on PATH (apt-get install git)", { cause: err });
    throw err;
  }
}

interface TreeEntry {
  readonly type: "file" | "dir" | "symlink";
  readonly mode: number;
  readonly mtimeMs: number;
  readonly content?: Buffer;
  readonly target?: string;
}

/** Every entry below `root` by relative path, without SQLite -wal/-shm/-journal siblings. */
function readTree(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  for (const d of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const abs = join(d.parentPath, d.name);
    const rel = relative(root, abs);
    if (/\.sqlite-(wal|shm|journal)$/.test(rel)) continue;
    const st = lstatSync(abs);
    const mode = st.mode & 0o7777;
    if (st.isSymbolicLink()) out.set(rel, { type: "symlink", mode, mtimeMs: st.mtimeMs, target: readlinkSync(abs) });
    else if (st.isDirectory()) out.set(rel, { type: "dir", mode, mtimeMs: st.mtimeMs });
    else out.set(rel, { type: "file", mode, mtimeMs: st.mtimeMs, content: readFileSync(abs) });
  }
  return out;
}

describe("restorable CLI (built, local repository)", () => {
  let data = "";
  let db: Database.Database;
  const ids: string[] = [];

  beforeAll(async () => {
    ensureBuilt();
    work = await mkdtemp(join(tmpdir(), "restorable-cli-"));
    repoDir = join(work, "repo");
    data = join(work, "app");
    // nested folders, modes, a symlink
    await mkdir(join(data, "nested", "deep", "er"), { recursive: true });
    await writeFile(join(data, "nested", "deep", "er", "leaf.txt"), "leaf\n");
    await writeFile(join(data, "nested", "readme.md"), "# hello\n".repeat(100));
    await writeFile(join(data, "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
    await writeFile(join(data, "private.key"), "not really a key\n", { mode: 0o600 });
    await writeFile(join(data, "settings.json"), JSON.stringify({ a: 1, b: [1, 2, 3] }));
    await writeFile(join(data, "gone.txt"), "removed before the second snapshot\n");
    await symlink("nested/deep/er/leaf.txt", join(data, "leaf-link"));
    // a bare git repository with one pushed commit and an executable hook
    const scratch = join(work, "scratch");
    await mkdir(scratch);
    git(["init", "-q", "--bare", "-b", "main", join(data, "project.git")], work);
    await writeFile(join(data, "project.git", "hooks", "post-receive"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    git(["init", "-q", "-b", "main"], scratch);
    await writeFile(join(scratch, "file.txt"), "tracked\n");
    git(["add", "file.txt"], scratch);
    git(["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "first"], scratch);
    git(["push", "-q", join(data, "project.git"), "main"], scratch);
    // a WAL-mode SQLite database, held open with its recent commits only in the WAL
    await mkdir(join(data, "db"));
    db = new Database(join(data, "db", "app.sqlite"));
    db.pragma("journal_mode = WAL");
    db.pragma("wal_autocheckpoint = 0");
    db.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, note TEXT)");
    const insert = db.prepare("INSERT INTO accounts (balance, note) VALUES (?, ?)");
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) insert.run(i, `row ${i} `.repeat(8));
    })();
    // fixed mtimes, so the comparison after restore means something
    const t = new Date("2024-05-06T07:08:09.123Z");
    for (const rel of ["nested/deep/er/leaf.txt", "nested/readme.md", "run.sh", "private.key", "settings.json", "gone.txt"]) await utimes(join(data, rel), t, t);
  });

  afterAll(async () => {
    db?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("init creates a repository and reports the store's capabilities", async () => {
    const r = await ok(["init", "--json"]);
    expect(r.json.capabilities).toMatchObject({ conditionalCreate: true, readAfterWrite: true, listAfterWrite: true });
    expect(r.json.repository.id).toMatch(/^[0-9a-f]{32}$/);
    const again = await cli(["init"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  });

  it("snapshot reads the folder, including the database's WAL content", async () => {
    expect(statSync(join(data, "db", "app.sqlite-wal")).size).toBeGreaterThan(0);
    const r = await ok(["snapshot", data, "--tag", "daily", "--time", "2020-01-01T00:00:00Z", "--host", "test-host", "--json"]);
    expect(r.json.structureCheck).toBe("ok");
    expect(r.json.snapshot.time).toBe("2020-01-01T00:00:00.000Z");
    expect(r.json.snapshot.tags).toEqual(["daily"]);
    expect(r.json.sources).toHaveLength(1);
    expect(r.json.sources[0].name).toBe("app");
    expect(r.json.sources[0].databases.map((d: { path: string }) => d.path)).toEqual(["db/app.sqlite"]);
    expect(r.json.bytesAdded).toBeGreaterThan(0);
    expect(r.json.bytesAdded).toBeLessThan(r.json.bytesRead);
    ids.push(r.json.snapshot.id);
    // the human summary names what the brief asks for
    const again = await ok(["snapshot", data, "--time", "2020-01-01T12:00:00Z"]);
    for (const word of ["files", "read", "added", "duration", "structure"]) expect(again.stdout).toContain(word);
    expect(again.stdout).toMatch(/snapshot \d{8}T\d{6}Z-[0-9a-f]{8} saved/);
    ids.push(/snapshot (\S+) saved/.exec(again.stdout)![1]!);
  });

  it("snapshots --json lists both with their verify annotation; --tag filters", async () => {
    const all = await ok(["snapshots", "--json"]);
    expect(all.json.snapshots.map((s: { id: string }) => s.id)).toEqual(ids);
    const first = all.json.snapshots[0];
    expect(first).toMatchObject({ host: "test-host", tags: ["daily"], time: "2020-01-01T00:00:00.000Z", pinned: false, drill: null });
    expect(first.verify).toMatchObject({ ok: true, level: "structure" });
    expect(first.files).toBeGreaterThan(10);
    const tagged = await ok(["snapshots", "--tag", "daily", "--json"]);
    expect(tagged.json.snapshots).toHaveLength(1);
    const table = await ok(["snapshots"]);
    expect(table.stdout).toMatch(/ID\s+TIME\s+HOST\s+TAGS\s+FILES\s+SIZE\s+ADDED\s+VERIFY\s+DRILL\s+PINNED/);
  });

  it("ls lists SOURCE/path entries with modes, symlink targets and a prefix filter", async () => {
    const r = await ok(["ls", ids[0]!, "--json"]);
    const byPath = new Map<string, { type: string; mode: number; target?: string; size: number }>(r.json.entries.map((e: { path: string }) => [e.path, e]));
    expect(byPath.get("app")?.type).toBe("dir");
    expect(byPath.get("app/leaf-link")).toMatchObject({ type: "symlink", target: "nested/deep/er/leaf.txt" });
    expect(byPath.get("app/project.git/hooks/post-receive")).toMatchObject({ type: "file", mode: 0o755 });
    expect(byPath.get("app/private.key")?.mode).toBe(0o600);
    expect(byPath.has("app/db/app.sqlite")).toBe(true);
    expect(byPath.has("app/db/app.sqlite-wal")).toBe(false);
    const nested = await ok(["ls", "latest", "app/nested", "--long"]);
    const lines = nested.stdout.trim().split("\n");
    expect(lines.length).toBe(5);
    for (const line of lines) expect(line).toMatch(/^[d-][rwx-]{9}\s.*\sapp\/nested/);
    expect(nested.stdout).toContain("-rw-r--r--");
  });

  it("diff shows added, removed and modified entries by content and mode", async () => {
    await writeFile(join(data, "nested", "readme.md"), "# changed\n");
    await writeFile(join(data, "added.txt"), "new file\n");
    await unlink(join(data, "gone.txt"));
    await chmod(join(data, "run.sh"), 0o700);
    db.prepare("UPDATE accounts SET balance = balance + 1 WHERE id <= 10").run();
    const snap = await ok(["snapshot", data, "--time", "2020-01-02T00:00:00Z", "--json"]);
    ids.push(snap.json.snapshot.id);
    const r = await ok(["diff", ids[1]!, ids[2]!, "--json"]);
    expect(r.json.added.map((e: { path: string }) => e.path)).toEqual(["app/added.txt"]);
    expect(r.json.removed.map((e: { path: string }) => e.path)).toEqual(["app/gone.txt"]);
    const modified = new Map(r.json.modified.map((m: { path: string; changes: string[] }) => [m.path, m.changes]));
    expect(modified.get("app/nested/readme.md")).toEqual(["content"]);
    expect(modified.get("app/run.sh")).toEqual(["mode"]);
    expect(modified.get("app/db/app.sqlite")).toEqual(["content"]);
    expect(modified.has("app/settings.json")).toBe(false);
    const text = await ok(["diff", ids[1]!, "latest"]);
    expect(text.stdout).toMatch(/^\+ app\/added\.txt$/m);
    expect(text.stdout).toMatch(/^- app\/gone\.txt$/m);
    expect(text.stdout).toMatch(/^M app\/run\.sh \(mode\)$/m);
  });

  it("verify --read-data reads every pack and passes; --semantic checks the database and git", async () => {
    const r = await ok(["verify", "--read-data", "--json"]);
    expect(r.json.ok).toBe(true);
    expect(r.json.level).toBe("read-data");
    expect(r.json.snapshots).toHaveLength(3);
    expect(r.json.packsRead).toBeGreaterThan(0);
    expect(r.json.chunksChecked).toBeGreaterThan(0);
    const s = await ok(["verify", "latest", "--semantic", "--json"]);
    const checks = s.json.snapshots[0].semantic.map((c: { check: string; path: string; ok: boolean }) => `${c.check} ${c.path} ${c.ok}`);
    expect(checks).toContain("sqlite-integrity app/db/app.sqlite true");
    expect(checks).toContain("git-fsck app/project.git true");
  });

  it("restore reproduces every file byte for byte with modes, symlink targets and mtimes", async () => {
    const target = join(work, "restored");
    const r = await ok(["restore", "latest", "--target", target, "--verify", "--json"]);
    expect(r.json.verified).toBe(true);
    const restoredRoot = join(target, "app");
    const want = readTree(data);
    const got = readTree(restoredRoot);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [rel, w] of want) {
      const g = got.get(rel)!;
      expect({ rel, type: g.type, mode: g.mode }).toEqual({ rel, type: w.type, mode: w.mode });
      if (w.type === "symlink") expect(g.target).toBe(w.target);
      if (w.type === "file" && rel !== "db/app.sqlite") {
        expect(g.content!.equals(w.content!), `content of ${rel}`).toBe(true);
        expect(Math.abs(g.mtimeMs - w.mtimeMs), `mtime of ${rel}`).toBeLessThan(1);
      }
      if (w.type === "dir" && rel !== "db" && rel !== "") expect(Math.abs(g.mtimeMs - w.mtimeMs), `mtime of ${rel}/`).toBeLessThan(1);
    }
    // the database: a consistent copy holding the commits that were only in the WAL, without WAL siblings
    expect(existsSync(join(restoredRoot, "db", "app.sqlite-wal"))).toBe(false);
    const copy = new Database(join(restoredRoot, "db", "app.sqlite"), { readonly: true });
    try {
      expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
      const sum = (d: Database.Database): unknown => d.prepare("SELECT count(*) AS n, sum(balance) AS s FROM accounts").get();
      expect(sum(copy)).toEqual(sum(db));
    } finally {
      copy.close();
    }
    // the bare git repository passes fsck and kept its executable hook
    const fsck = git(["--git-dir", join(restoredRoot, "project.git"), "fsck", "--full", "--strict"], work);
    expect(fsck).not.toMatch(/error|missing|broken/i);
    expect(git(["--git-dir", join(restoredRoot, "project.git"), "log", "--format=%s", "main"], work).trim()).toBe("first");
    expect(statSync(join(restoredRoot, "project.git", "hooks", "post-receive")).mode & 0o777).toBe(0o755);
  });

  it("restore refuses a non-empty target without --in-place (exit 2), and moves it aside with --in-place", async () => {
    const target = join(work, "busy");
    await mkdir(target);
    await writeFile(join(target, "keep.txt"), "mine");
    const r = await cli(["restore", "latest", "--target", target]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not empty.*--in-place/);
    expect(await readdir(target)).toEqual(["keep.txt"]);
    const inPlace = await ok(["restore", ids[0]!, "--target", target, "--in-place", "--include", "app/nested/**", "--json"]);
    expect(readFileSync(join(inPlace.json.movedAside, "keep.txt"), "utf8")).toBe("mine");
    expect(readFileSync(join(target, "app", "nested", "deep", "er", "leaf.txt"), "utf8")).toBe("leaf\n");
    expect(existsSync(join(target, "app", "run.sh"))).toBe(false);
  });

  it("key add, open with the new raw key, key remove; --generate-key prints the key once", async () => {
    const keyHex = "ab".repeat(32);
    await writeFile(join(work, "new.key"), `${keyHex}\n`);
    const added = await ok(["key", "add", "--new-key-file", join(work, "new.key"), "--label", "ci", "--json"]);
    expect(added.json.key).toMatchObject({ kind: "raw", label: "ci" });
    const asKey = { RESTORABLE_PASSWORD: undefined, RESTORABLE_KEY: keyHex };
    const list = await ok(["key", "list", "--json"], { env: asKey });
    const current = list.json.keys.find((k: { current: boolean }) => k.current);
    expect(current).toMatchObject({ id: added.json.key.id, kind: "raw", label: "ci" });
    expect(list.json.keys).toHaveLength(2);
    const snaps = await ok(["snapshots", "--json"], { env: asKey });
    expect(snaps.json.snapshots).toHaveLength(3);
    await ok(["key", "remove", added.json.key.id]);
    const refused = await cli(["snapshots"], { env: asKey });
    expect(refused.code).toBe(5);

    const gen = await ok(["key", "add", "--generate-key"]);
    expect(gen.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const genKey = gen.stdout.trim();
    const viaGen = await ok(["key", "list", "--json"], { env: { RESTORABLE_PASSWORD: undefined, RESTORABLE_KEY: Buffer.from(genKey, "hex").toString("base64") } });
    const genId = viaGen.json.keys.find((k: { current: boolean }) => k.current).id;
    await ok(["key", "remove", genId]);
    expect((await ok(["key", "list", "--json"])).json.keys).toHaveLength(1);
  });

  it("repair index rebuilds a deleted index, after which verify passes again", async () => {
    for (const f of await readdir(join(repoDir, "index"))) await unlink(join(repoDir, "index", f));
    const broken = await cli(["verify", "--json"]);
    expect(broken.code).toBe(7);
    expect(JSON.parse(broken.stdout).ok).toBe(false);
    expect(broken.stderr).toMatch(/verify found damage in 3 snapshot\(s\)/);
    const r = await ok(["repair", "index", "--json"]);
    expect(r.json.packs).toBeGreaterThan(0);
    expect(r.json.damagedPacks).toEqual([]);
    const v = await ok(["verify", "--read-data", "--json"]);
    expect(v.json.ok).toBe(true);
  });

  it("wrong password: exit 5, with a JSON error document", async () => {
    const r = await cli(["snapshots", "--json"], { env: { RESTORABLE_PASSWORD: "wrong" } });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^restorable: no key slot opens with the password given/);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "WRONG_KEY" } });
  });

  it("no secret at all: exit 2 naming the variables", async () => {
    const r = await cli(["snapshots"], { env: { RESTORABLE_PASSWORD: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RESTORABLE_PASSWORD.*RESTORABLE_KEY/);
  });

  it("not a repository: exit 4", async () => {
    const empty = join(work, "empty");
    await mkdir(empty);
    const r = await cli(["snapshots", "--repo", empty]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`not a restorable repository: ${empty}`);
  });

  it("missing source path: exit 8 and nothing committed", async () => {
    const r = await cli(["snapshot", data, join(work, "does-not-exist")]);
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/source path does not exist: .*does-not-exist/);
    expect((await ok(["snapshots", "--json"])).json.snapshots).toHaveLength(3);
  });

  it("restorable.yml: an unknown key is exit 2 naming the path; a valid file drives snapshot", async () => {
    const dir = join(work, "cfg");
    await mkdir(dir);
    await writeFile(join(dir, "restorable.yml"), `repository: ../repo\nsources:\n  - type: directory\n    path: ../app/nested\n    exlude: ["**/er/**"]\n`);
    const bad = await cli(["snapshot"], { cwd: dir, env: { RESTORABLE_REPOSITORY: undefined } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("restorable.yml: sources[0].exlude: unknown key");
    expect((await ok(["snapshots", "--json"])).json.snapshots).toHaveLength(3);

    await writeFile(
      join(dir, "restorable.yml"),
      [
        "repository: ../repo",
        "tags: [from-config]",
        "sources:",
        "  - name: docs",
        "    path: ../app/nested",
        '    exclude: ["**/er/**"]',
        "  - type: sqlite",
        "    path: ../app/db/app.sqlite",
        "  - type: command",
        "    name: dump",
        "    command: [printf, 'hello from a command']",
        "    filename: hello.txt",
        "",
      ].join("\n"),
    );
    const r = await ok(["snapshot", "--json"], { cwd: dir, env: { RESTORABLE_REPOSITORY: undefined } });
    expect(r.json.snapshot.tags).toEqual(["from-config"]);
    expect(r.json.sources.map((s: { name: string; kind: string }) => `${s.name}:${s.kind}`)).toEqual(["docs:directory", "app.sqlite:sqlite", "dump:command"]);
    const ls = await ok(["ls", r.json.snapshot.id, "--json"], { cwd: dir, env: { RESTORABLE_REPOSITORY: undefined } });
    const paths = ls.json.entries.map((e: { path: string }) => e.path);
    expect(paths).toContain("docs/readme.md");
    expect(paths).toContain("dump/hello.txt");
    expect(paths.some((p: string) => p.startsWith("app.sqlite/"))).toBe(true);
    expect(paths.some((p: string) => p.includes("/er"))).toBe(false);
  });

  it("bad selector: exit 3 listing the nearest snapshots; a malformed one is exit 2", async () => {
    const r = await cli(["ls", "2019"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no snapshot matches 2019/);
    expect(r.stderr).toContain(ids[0]!);
    const before = await cli(["restore", "latest-before:2019-06-01", "--target", join(work, "never")]);
    expect(before.code).toBe(3);
    expect(before.stderr).toContain(`nearest by time: ${ids[0]}`);
    expect(existsSync(join(work, "never"))).toBe(false);
    const malformed = await cli(["ls", "not/a/selector"]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/not a snapshot selector/);
  });

  it("usage errors are exit 2 with one message", async () => {
    const r = await cli(["restore", "latest"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^restorable: required option '--target <dir>' not specified/);
    const u = await cli(["bogus", "--json"]);
    expect(u.code).toBe(2);
    expect(JSON.parse(u.stdout).error.code).toBe("CONFIG");
  });
});
