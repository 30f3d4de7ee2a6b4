import { FileStorer } from "../../src/ops/snapshot/store-file.js";
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, SourceError } from "../../src/core/errors.js";
import { sqliteFileSource, walkDirectory, type WalkOptions } from "../../src/sources/directory.js";
import type { SourceEntry, SourceWarning } from "../../src/sources/types.js";
import { compileSources } from "../helpers/compile-sources.js";

let root: string;
let temp: string;
let writer: Database.Database | undefined;

/**
 * root/
 *   .git/config, .git/hooks/pre-commit (0755)
 *   a.txt, link -> a.txt, dangling -> nowhere/at/all
 *   data/app.db (+ -wal, -shm: a writer connection is open), data/fake.sqlite (no header),
 *   data/garbage.db (header + random bytes)
 *   logs/x.log, pipe (FIFO), sub/deep/file.md, sub/empty/
 */
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "restorable-walk-"));
  temp = mkdtempSync(join(tmpdir(), "restorable-walk-tmp-"));
  mkdirSync(join(root, ".git/hooks"), { recursive: true });
  writeFileSync(join(root, ".git/config"), "[core]\n");
  writeFileSync(join(root, ".git/hooks/pre-commit"), "#!/bin/sh\nexit 0\n");
  chmodSync(join(root, ".git/hooks/pre-commit"), 0o755);
  writeFileSync(join(root, "a.txt"), "hello\n");
  chmodSync(join(root, "a.txt"), 0o640);
  symlinkSync("a.txt", join(root, "link"));
  symlinkSync("nowhere/at/all", join(root, "dangling"));
  mkdirSync(join(root, "data"));
  writer = new Database(join(root, "data/app.db"));
  writer.pragma("journal_mode = WAL");
  writer.pragma("wal_autocheckpoint = 0");
  writer.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  const ins = writer.prepare("INSERT INTO t(v) VALUES (?)");
  for (let i = 0; i < 300; i++) ins.run(`row ${i}`);
  writeFileSync(join(root, "data/fake.sqlite"), "I am named like a database but I am text\n");
  writeFileSync(join(root, "data/garbage.db"), Buffer.concat([Buffer.from("SQLite format 3\0", "latin1"), Buffer.alloc(8192 - 16, 0xab)])); // a whole number of 512-byte pages
  mkdirSync(join(root, "logs"));
  writeFileSync(join(root, "logs/x.log"), "log line\n");
  execFileSync("mkfifo", [join(root, "pipe")]);
  mkdirSync(join(root, "sub/deep"), { recursive: true });
  mkdirSync(join(root, "sub/empty"));
  writeFileSync(join(root, "sub/deep/file.md"), "# doc\n");
});

afterEach(() => {
  writer?.close();
  writer = undefined;
  rmSync(root, { recursive: true, force: true });
  rmSync(temp, { recursive: true, force: true });
});

async function collect(
  dir: string,
  opts: WalkOptions,
  onEntry?: (e: SourceEntry) => void,
): Promise<{ entries: SourceEntry[]; warnings: SourceWarning[] }> {
  const entries: SourceEntry[] = [];
  const warnings: SourceWarning[] = [];
  for await (const e of walkDirectory(dir, opts, { onWarning: (w) => warnings.push(w) })) {
    onEntry?.(e);
    entries.push(e);
  }
  return { entries, warnings };
}

function byPath(entries: SourceEntry[], path: string): SourceEntry {
  const e = entries.find((x) => x.path === path);
  if (!e) throw new Error(`no entry ${path}`);
  return e;
}

describe("walkDirectory", () => {
  it("yields the tree in order with metadata, captures the database and skips what must not travel", async () => {
    const seenCopies: { path: string; rows: unknown }[] = [];
    const { entries, warnings } = await collect(root, { sqlite: "auto", tempDir: temp }, (e) => {
      if (e.sqlite && e.contentPath) {
        // The copy exists while the entry is current, and it is a real database.
        const db = new Database(e.contentPath, { readonly: true, fileMustExist: true });
        seenCopies.push({ path: e.contentPath, rows: db.prepare("SELECT count(*) AS n FROM t").get() });
        db.close();
      }
    });
    expect(entries.map((e) => e.path)).toEqual([
      "",
      ".git",
      ".git/config",
      ".git/hooks",
      ".git/hooks/pre-commit",
      "a.txt",
      "dangling",
      "data",
      "data/fake.sqlite",
      "link",
      "logs",
      "logs/x.log",
      "sub",
      "sub/deep",
      "sub/deep/file.md",
      "sub/empty",
      // Databases last (copied in the background meanwhile), in walk order; garbage.db fell back to a plain file.
      "data/app.db",
      "data/garbage.db",
    ]);

    const hook = byPath(entries, ".git/hooks/pre-commit");
    expect(hook.type).toBe("file");
    expect(hook.mode).toBe(0o755);
    expect(byPath(entries, "a.txt")).toMatchObject({ type: "file", mode: 0o640, size: 6, chunking: { mode: "cdc" }, reusable: true });
    expect(byPath(entries, "a.txt").contentPath).toBe(join(root, "a.txt"));
    const st = statSync(join(root, "a.txt"));
    expect(byPath(entries, "a.txt")).toMatchObject({ uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
    expect(byPath(entries, "link")).toMatchObject({ type: "symlink", linkTarget: "a.txt", size: 0 });
    expect(byPath(entries, "link").contentPath).toBeUndefined();
    expect(byPath(entries, "dangling")).toMatchObject({ type: "symlink", linkTarget: "nowhere/at/all" });
    expect(byPath(entries, "sub")).toMatchObject({ type: "dir", size: 0 });

    // The database: copied, fixed page-aligned chunks, siblings not yielded.
    const db = byPath(entries, "data/app.db");
    expect(db.chunking).toEqual({ mode: "fixed", size: 4096 });
    expect(db.sqlite).toMatchObject({ journalMode: "wal", pageSize: 4096, quickCheck: "ok" });
    expect(db.reusable).toBe(false);
    expect(db.contentPath?.startsWith(temp)).toBe(true);
    expect(db.size).toBe((db.sqlite?.pageCount ?? 0) * 4096);
    expect(entries.some((e) => e.path.endsWith("-wal") || e.path.endsWith("-shm"))).toBe(false);
    expect(seenCopies).toEqual([{ path: db.contentPath, rows: { n: 300 } }]);
    // ... and the walker deleted its copy once the caller moved on.
    expect(readdirSync(temp)).toEqual([]);

    // Named like a database but no header: a plain file, no warning.
    expect(byPath(entries, "data/fake.sqlite")).toMatchObject({ chunking: { mode: "cdc" }, reusable: true });
    expect(byPath(entries, "data/fake.sqlite").sqlite).toBeUndefined();
    // Header but garbage: a plain file (original bytes) with a warning.
    const garbage = byPath(entries, "data/garbage.db");
    expect(garbage).toMatchObject({ chunking: { mode: "cdc" }, contentPath: join(root, "data/garbage.db"), size: 8192 });
    expect(garbage.sqlite).toBeUndefined();

    expect(entries.some((e) => e.path === "pipe")).toBe(false);
    expect(warnings.map((w) => w.path).sort()).toEqual(["data/garbage.db", "pipe"]);
    expect(warnings.find((w) => w.path === "pipe")?.message).toMatch(/FIFO/);
    expect(warnings.find((w) => w.path === "data/garbage.db")?.message).toMatch(/plain file.*file is not a database/);
  });

  it("applies exclude globs without descending into excluded directories", async () => {
    const { entries } = await collect(root, { sqlite: "never", exclude: [".git", "**/*.log", "data/*.db*"] });
    const paths = entries.map((e) => e.path);
    expect(paths.filter((p) => p.startsWith(".git"))).toEqual([]);
    expect(paths).toContain("logs");
    expect(paths).not.toContain("logs/x.log");
    expect(paths.filter((p) => p.startsWith("data"))).toEqual(["data", "data/fake.sqlite"]);
  });

  it("keeps only included files and the directories leading to them", async () => {
    const { entries } = await collect(root, { sqlite: "auto", tempDir: temp, include: ["sub/**/*.md", ".git/hooks"] });
    expect(entries.map((e) => e.path)).toEqual(["", ".git", ".git/hooks", ".git/hooks/pre-commit", "sub", "sub/deep", "sub/deep/file.md"]);
    expect(readdirSync(temp)).toEqual([]);
  });

  it("with sqlite 'never' reads the database as a plain file and keeps its -wal/-shm", async () => {
    const { entries } = await collect(root, { sqlite: "never", include: ["data/**"] });
    expect(entries.map((e) => e.path)).toEqual(["", "data", "data/app.db", "data/app.db-shm", "data/app.db-wal", "data/fake.sqlite", "data/garbage.db"]);
    expect(byPath(entries, "data/app.db")).toMatchObject({ contentPath: join(root, "data/app.db"), chunking: { mode: "cdc" } });
  });

  it("sorts children by name in byte order", async () => {
    const dir = join(root, "order");
    mkdirSync(dir);
    for (const n of ["é", "a", "B", "_", "Z1", "a0"]) writeFileSync(join(dir, n), n);
    const { entries } = await collect(dir, { sqlite: "never" });
    expect(entries.map((e) => e.path)).toEqual(["", "B", "Z1", "_", "a", "a0", "é"]);
  });

  it("deletes the database copy when the caller asks for the next entry or stops early", async () => {
    const it1 = walkDirectory(join(root, "data"), { sqlite: "auto", tempDir: temp });
    const first = await it1.next(); // the root
    expect(first.value?.path).toBe("");
    expect((await it1.next()).value?.path).toBe("fake.sqlite"); // the database comes after the other entries
    const dbEntry = (await it1.next()).value as SourceEntry;
    expect(dbEntry.path).toBe("app.db");
    const copy = dbEntry.contentPath as string;
    expect(existsSync(copy)).toBe(true);
    expect(readdirSync(temp)).toHaveLength(1); // one copy at a time: garbage.db's capture has not started
    await it1.next();
    expect(existsSync(copy)).toBe(false);
    await it1.return(undefined);

    // Stopped while the database is being copied in the background: the copy is removed too.
    const it2 = walkDirectory(join(root, "data"), { sqlite: "auto", tempDir: temp });
    await it2.next();
    await it2.next();
    await it2.return(undefined);
    expect(readdirSync(temp)).toEqual([]);

    for await (const e of walkDirectory(join(root, "data"), { sqlite: "auto", tempDir: temp })) {
      if (e.sqlite) break;
    }
    expect(readdirSync(temp)).toEqual([]);
  });

  it('hands a database out once copied, mid-walk, with databases: "when-copied"; the next copy starts after release()', async () => {
    const second = new Database(join(root, "data/b.db"));
    second.exec("CREATE TABLE u(x); INSERT INTO u VALUES (1)");
    second.close();
    mkdirSync(join(root, "data/zz"));
    for (let i = 0; i < 200; i++) writeFileSync(join(root, `data/zz/f${String(i).padStart(3, "0")}`), "x");
    const paths: string[] = [];
    let held: SourceEntry | undefined;
    const releases: Promise<void>[] = [];
    for await (const e of walkDirectory(join(root, "data"), { sqlite: "auto", tempDir: temp, databases: "when-copied" })) {
      paths.push(e.path);
      if (e.path === "zz/f000") await new Promise((r) => setTimeout(r, 3000)); // app.db's copy is surely ready now
      if (e.sqlite) {
        expect(e.release).toBeTypeOf("function");
        expect(readdirSync(temp)).toEqual([basename(e.contentPath!)]); // one copy at a time
        // app.db is held while 50 more entries come; later ones are released in the background, as a
        // snapshot does once it has stored them (the walk waits for that before the next copy).
        if (e.path === "app.db") held = e;
        else releases.push(new Promise((r) => setTimeout(r, 10)).then(() => e.release!()));
      }
      if (held && paths.length - paths.indexOf(held.path) === 50) {
        expect(readdirSync(temp)).toHaveLength(1); // b.db waits for app.db's release
        await held.release!();
        await held.release!(); // a second call does nothing
        expect(existsSync(held.contentPath!)).toBe(false);
        held = undefined;
      }
    }
    await Promise.all(releases);
    expect(held).toBeUndefined();
    // app.db comes right after the entry the walk was at when its copy was ready, not after the walk.
    expect(paths.indexOf("app.db")).toBe(paths.indexOf("zz/f000") + 1);
    expect(paths.filter((p) => p === "app.db" || p === "b.db")).toEqual(["app.db", "b.db"]);
    expect(paths.indexOf("b.db")).toBeGreaterThan(paths.indexOf("app.db") + 50);
    expect(paths).toContain("garbage.db"); // refused by SQLite: a plain file, no copy to release
    expect(readdirSync(temp)).toEqual([]);
  }, 20_000);

  it('"when-copied": the walk ends while the caller still holds the last database\'s copy', async () => {
    const dir = join(root, "one-db");
    mkdirSync(dir);
    const db = new Database(join(dir, "a.db"));
    db.exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)");
    db.close();
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, `f${String(i).padStart(2, "0")}`), "x");
    let held: SourceEntry | undefined;
    let count = 0;
    // A snapshot releases a copy once it is stored, which may be after the walk's last entry: the walk
    // must not wait for that release when no other database is left to copy (it would wait forever here).
    const walked = (async () => {
      for await (const e of walkDirectory(dir, { sqlite: "auto", tempDir: temp, databases: "when-copied" })) {
        count++;
        if (e.sqlite) held = e;
      }
    })();
    const ended = await Promise.race([walked.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
    expect(ended).toBe(true);
    expect(count).toBe(22); // the root, 20 files, the database
    expect(existsSync(held!.contentPath!)).toBe(true); // still the caller's
    await held!.release!();
    expect(readdirSync(temp)).toEqual([]);
  }, 20_000);

  it("does not walk the temp folder when it lies inside the root", async () => {
    const inner = join(root, "sub", "tmp-copies");
    mkdirSync(inner);
    writeFileSync(join(inner, "leftover"), "x");
    const { entries } = await collect(root, { sqlite: "auto", tempDir: inner });
    expect(entries.some((e) => e.path.startsWith("sub/tmp-copies"))).toBe(false);
    expect(entries.some((e) => e.path === "data/app.db")).toBe(true);
  });

  it("fails with SourceError for a missing root and ConfigError without tempDir in auto mode", async () => {
    const missing = join(root, "does-not-exist");
    const err = await collect(missing, { sqlite: "never" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toBe(`source path does not exist: ${missing}`);
    await expect(collect(root, { sqlite: "auto" })).rejects.toBeInstanceOf(ConfigError);
  });
});

describe("sqliteFileSource", () => {
  it("copies a declared database into an entry for the source root", async () => {
    const e = await sqliteFileSource(join(root, "data/app.db"), temp);
    expect(e).toMatchObject({ path: "", type: "file", chunking: { mode: "fixed", size: 4096 }, reusable: false });
    expect(e.sqlite?.quickCheck).toBe("ok");
    expect(e.contentPath?.startsWith(temp)).toBe(true);
    expect(e.size).toBe(readFileSync(e.contentPath as string).length);
  });

  it("fails (no plain-file fallback) for a broken, a non-SQLite or a missing file", async () => {
    for (const p of ["data/garbage.db", "data/fake.sqlite", "nothing.db"]) {
      const err = await sqliteFileSource(join(root, p), temp).catch((e: unknown) => e);
      expect(err, p).toBeInstanceOf(SourceError);
      expect((err as SourceError).message, p).toContain(join(root, p));
    }
    expect(readdirSync(temp)).toEqual([]);
  });
});

describe("walkDirectory on unreadable entries", () => {
  type Outcome = { entries?: string[]; read?: string; error?: { code: string; message: string } };

  /** Walk in this process (works when not root: permissions apply). */
  async function walkHere(tree: string, opts: WalkOptions): Promise<Outcome> {
    try {
      const entries = (await collect(tree, opts)).entries.map((e) => e.path);
      const storer = new FileStorer({ chunkId: () => new Uint8Array(32), offer: () => undefined }, new Uint32Array(256));
      const read = await storer.store(join(tree, "secret.txt"), { chunking: { mode: "cdc" } }).then(() => "read", (e: unknown) => (e as Error).message);
      return { entries, read };
    } catch (e) {
      return { error: { code: (e as SourceError).code, message: (e as Error).message } };
    }
  }

  /**
   * Root ignores permission bits: walk in a child process that keeps uid 0 but
   * has lost CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv, util-linux), so
   * mode 000 denies it like anyone else, on the tsc output of the walker. (Running
   * as nobody instead fails when node or the checkout lives under /root.)
   */
  async function walkWithoutOverride(buildDir: string, tree: string, opts: WalkOptions): Promise<Outcome> {
    const script = `
      const { walkDirectory } = await import(${JSON.stringify(join(buildDir, "sources/directory.js"))});
      const entries = [];
      try {
        for await (const e of walkDirectory(${JSON.stringify(tree)}, ${JSON.stringify(opts)})) entries.push(e.path);
        const { FileStorer } = await import(${JSON.stringify(join(buildDir, "ops/snapshot/store-file.js"))});
        const storer = new FileStorer({ chunkId: () => new Uint8Array(32), offer: () => undefined }, new Uint32Array(256));
        const read = await storer.store(${JSON.stringify(join(tree, "secret.txt"))}, { chunking: { mode: "cdc" } }).then(() => "read", (e) => e.message);
        console.log(JSON.stringify({ entries, read }));
      } catch (e) { console.log(JSON.stringify({ error: { code: e.code, message: e.message } })); }`;
    const { stdout } = await promisify(execFile)("setpriv", ["--bounding-set=-dac_override,-dac_read_search", process.execPath, "--input-type=module", "-e", script], { cwd: "/" });
    return JSON.parse(stdout) as Outcome;
  }

  it("fails with a SourceError naming the unreadable file or directory (EACCES)", async () => {
    const asRoot = process.getuid?.() === 0;
    const build = asRoot ? await compileSources(["src/sources/directory.ts", "src/ops/snapshot/store-file.ts"]) : undefined;
    const tree = mkdtempSync(join(tmpdir(), "restorable-eacces-"));
    try {
      chmodSync(tree, 0o755);
      mkdirSync(join(tree, "ok"), { mode: 0o755 });
      writeFileSync(join(tree, "ok/readable.txt"), "x", { mode: 0o644 });
      writeFileSync(join(tree, "secret.txt"), "x", { mode: 0o600 });
      mkdirSync(join(tree, "zlocked"), { mode: 0o700 });
      chmodSync(join(tree, "secret.txt"), 0o000);
      chmodSync(join(tree, "zlocked"), 0o000);
      const walk = (opts: WalkOptions): Promise<Outcome> => (build ? walkWithoutOverride(build.dir, tree, opts) : walkHere(tree, opts));

      // The walk does not open regular files (the reader opens each once): it lists the unreadable one,
      // and reading it fails naming it.
      const r1 = await walk({ sqlite: "never", exclude: ["zlocked"] });
      expect(r1.error).toBeUndefined();
      expect(r1.entries).toEqual(["", "ok", "ok/readable.txt", "secret.txt"]);
      expect(r1.read).toBe(`cannot read ${join(tree, "secret.txt")}: permission denied (EACCES)`);
      chmodSync(join(tree, "secret.txt"), 0o644);
      const r2 = await walk({ sqlite: "never" });
      expect(r2.error?.code).toBe("SOURCE");
      expect(r2.error?.message).toBe(`cannot read directory ${join(tree, "zlocked")}: permission denied (EACCES)`);
      // Excluded entries are never opened, so they cannot fail the walk.
      const r3 = await walk({ sqlite: "never", exclude: ["zlocked"] });
      expect(r3.entries).toEqual(["", "ok", "ok/readable.txt", "secret.txt"]);
    } finally {
      chmodSync(join(tree, "zlocked"), 0o700);
      rmSync(tree, { recursive: true, force: true });
      build?.cleanup();
    }
  });
});
