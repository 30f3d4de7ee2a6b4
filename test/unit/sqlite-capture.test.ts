import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InterruptedError, SourceError } from "../../src/core/errors.js";
import { captureSqlite, sqliteWorkerUrl, workerExecArgv } from "../../src/sources/sqlite-capture.js";
import { isSqliteFile } from "../../src/sources/sqlite-detect.js";
import { compileSources, repoRoot } from "../helpers/compile-sources.js";

const run = promisify(execFile);

let dir: string;
let out: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "restorable-sqlite-src-"));
  out = mkdtempSync(join(tmpdir(), "restorable-sqlite-out-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

function fill(db: Database.Database, rows: number, start = 0): void {
  db.exec("CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY, name TEXT, body BLOB)");
  db.exec("CREATE INDEX IF NOT EXISTS items_name ON items(name)");
  const ins = db.prepare("INSERT INTO items(id, name, body) VALUES (?, ?, randomblob(200))");
  db.transaction(() => {
    for (let i = start; i < start + rows; i++) ins.run(i, `name-${(i * 7919) % 100003}`);
  })();
}

/** Everything observable about a file: bytes and times (ns). */
function fingerprint(path: string): { bytes: Buffer; mtimeNs: bigint; ctimeNs: bigint } {
  const st = statSync(path, { bigint: true });
  return { bytes: readFileSync(path), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

function openCopy(path: string): Database.Database {
  return new Database(path, { readonly: true, fileMustExist: true });
}

function expectSelfContained(copy: string): void {
  const base = copy.split("/").pop() as string;
  const siblings = readdirSync(join(copy, "..")).filter((n) => n.startsWith(base) && n !== base);
  expect(siblings).toEqual([]);
  const header = readFileSync(copy).subarray(0, 20);
  // Bytes 18-19 = 1: legacy (rollback journal) read/write versions, i.e. not WAL.
  expect([header[18], header[19]]).toEqual([1, 1]);
}

describe("captureSqlite", () => {
  it("resolves the worker script as .ts when running from source", () => {
    expect(sqliteWorkerUrl().pathname).toMatch(/src\/sources\/sqlite-worker\.ts$/);
  });

  it("copies a WAL database with an open writer (un-checkpointed WAL content included) and leaves the source untouched", async () => {
    const src = join(dir, "app.sqlite");
    const w = new Database(src);
    try {
      w.pragma("journal_mode = WAL");
      w.pragma("wal_autocheckpoint = 0"); // keep every commit in the -wal
      fill(w, 3000);
      w.prepare("UPDATE items SET name = 'changed' WHERE id < 100").run();
      const listing = readdirSync(dir).sort();
      expect(listing).toEqual(["app.sqlite", "app.sqlite-shm", "app.sqlite-wal"]);
      const before = { db: fingerprint(src), wal: fingerprint(`${src}-wal`) };
      expect(before.wal.bytes.length).toBeGreaterThan(100_000);

      const dest = join(out, "copy.db");
      const t0 = Date.now();
      const cap = await captureSqlite(src, dest);
      const t1 = Date.now();

      // Source: bytes, -wal and times unchanged; no new file next to it.
      expect(readdirSync(dir).sort()).toEqual(listing);
      const after = { db: fingerprint(src), wal: fingerprint(`${src}-wal`) };
      expect(after.db.bytes.equals(before.db.bytes)).toBe(true);
      expect(after.wal.bytes.equals(before.wal.bytes)).toBe(true);
      expect([after.db.mtimeNs, after.db.ctimeNs, after.wal.mtimeNs]).toEqual([before.db.mtimeNs, before.db.ctimeNs, before.wal.mtimeNs]);

      expect(cap.journalMode).toBe("wal");
      expect(cap.quickCheck).toBe("ok");
      expect(cap.pageSize).toBe(4096);
      expect(cap.capturedAt).toBeGreaterThanOrEqual(t0);
      expect(cap.capturedAt).toBeLessThanOrEqual(t1);
      expect(statSync(dest).size).toBe(cap.pageCount * cap.pageSize);
      expectSelfContained(dest);
      const c = openCopy(dest);
      expect(c.prepare("SELECT count(*) AS n FROM items").get()).toEqual({ n: 3000 });
      expect(c.prepare("SELECT count(*) AS n FROM items WHERE name = 'changed'").get()).toEqual({ n: 100 });
      c.close();

      // Page numbers are kept: once the WAL is checkpointed into the source,
      // every page but page 1 (header) is byte-identical to the copy's.
      w.pragma("wal_checkpoint(TRUNCATE)");
      const srcBytes = readFileSync(src);
      const copyBytes = readFileSync(dest);
      expect(copyBytes.length).toBe(srcBytes.length);
      expect(copyBytes.subarray(cap.pageSize).equals(srcBytes.subarray(cap.pageSize))).toBe(true);
    } finally {
      w.close();
    }
  });

  it("creates no -wal/-shm next to a WAL database that nobody has open", async () => {
    const src = join(dir, "quiet.db");
    const w = new Database(src);
    w.pragma("journal_mode = WAL");
    fill(w, 500);
    w.close();
    expect(readdirSync(dir)).toEqual(["quiet.db"]);
    const before = fingerprint(src);
    const dest = join(out, "quiet-copy.db");
    const cap = await captureSqlite(src, dest);
    expect(readdirSync(dir)).toEqual(["quiet.db"]);
    const after = fingerprint(src);
    expect(after.bytes.equals(before.bytes)).toBe(true);
    expect(after.mtimeNs).toBe(before.mtimeNs);
    expect(cap.journalMode).toBe("wal");
    expect(cap.quickCheck).toBe("ok");
    expectSelfContained(dest);
    const c = openCopy(dest);
    expect(c.prepare("SELECT count(*) AS n FROM items").get()).toEqual({ n: 500 });
    c.close();
  });

  it("copies a rollback-journal database page for page without touching it", async () => {
    const src = join(dir, "plain.db");
    const w = new Database(src);
    fill(w, 4000);
    w.prepare("DELETE FROM items WHERE id % 3 = 0").run(); // free pages stay where they are
    w.close();
    const before = fingerprint(src);
    const dest = join(out, "plain-copy.db");
    const cap = await captureSqlite(src, dest);
    expect(readdirSync(dir)).toEqual(["plain.db"]);
    const after = fingerprint(src);
    expect(after.bytes.equals(before.bytes)).toBe(true);
    expect(after.mtimeNs).toBe(before.mtimeNs);
    expect(cap.journalMode).toBe("delete");
    const copy = readFileSync(dest);
    expect(copy.length).toBe(before.bytes.length);
    expect(copy.subarray(cap.pageSize).equals(before.bytes.subarray(cap.pageSize))).toBe(true);
    expectSelfContained(dest);
  });

  it("overwrites an existing destination and removes a stale -wal next to it", async () => {
    const src = join(dir, "a.db");
    const w = new Database(src);
    fill(w, 10);
    w.close();
    const dest = join(out, "copy.db");
    writeFileSync(dest, "old content");
    writeFileSync(`${dest}-wal`, "stale wal");
    await captureSqlite(src, dest);
    expectSelfContained(dest);
    const c = openCopy(dest);
    expect(c.prepare("SELECT count(*) AS n FROM items").get()).toEqual({ n: 10 });
    c.close();
  });

  it("fails with a SourceError naming the path and SQLite's message: missing, not a database, corrupt", async () => {
    const missing = join(dir, "missing.db");
    const e1 = await captureSqlite(missing, join(out, "x.db")).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(SourceError);
    expect((e1 as SourceError).message).toContain(missing);
    expect((e1 as SourceError).message).toContain("unable to open database file");

    const text = join(dir, "notes.db");
    writeFileSync(text, "just some text, not a database at all ".repeat(200));
    const e2 = await captureSqlite(text, join(out, "y.db")).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(SourceError);
    expect((e2 as SourceError).message).toContain(text);
    expect((e2 as SourceError).message).toContain("file is not a database");
    expect((e2 as SourceError).details.sqliteCode).toBe("SQLITE_NOTADB");

    const corrupt = join(dir, "corrupt.db");
    const w = new Database(corrupt);
    fill(w, 3000);
    w.close();
    const bytes = readFileSync(corrupt);
    bytes.fill(0x5a, 4096 * 6, 4096 * 9); // smash three b-tree pages
    writeFileSync(corrupt, bytes);
    const e3 = await captureSqlite(corrupt, join(out, "z.db")).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(SourceError);
    expect((e3 as SourceError).message).toContain(corrupt);
    expect((e3 as SourceError).message).toMatch(/quick_check|malformed|corrupt/i);

    expect(readdirSync(out)).toEqual([]); // no partial copies left behind
  });

  it("rejects with InterruptedError when the signal is already aborted", async () => {
    const src = join(dir, "a.db");
    new Database(src).close();
    const ac = new AbortController();
    ac.abort();
    await expect(captureSqlite(src, join(out, "c.db"), { signal: ac.signal })).rejects.toBeInstanceOf(InterruptedError);
  });

  it("keeps the main event loop running while a large database is copied", async () => {
    const src = join(dir, "big.db");
    const w = new Database(src);
    w.exec("CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)");
    const ins = w.prepare("INSERT INTO blobs(b) VALUES (randomblob(4000))");
    w.transaction(() => {
      for (let i = 0; i < 20_000; i++) ins.run(); // ~80 MB
    })();
    w.close();
    let ticks = 0;
    let last = performance.now();
    let maxGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 5);
    const t0 = performance.now();
    await captureSqlite(src, join(out, "big-copy.db"));
    const took = performance.now() - t0;
    clearInterval(timer);
    console.log(`80 MB capture took ${took.toFixed(0)} ms; main loop ticked ${ticks} times, longest gap ${maxGap.toFixed(0)} ms`);
    expect(ticks).toBeGreaterThan(took / 50);
    expect(maxGap).toBeLessThan(Math.max(100, took / 2));
  });

  it("works from the compiled JavaScript (tsc output, sqlite-worker.js) under plain node", async () => {
    // Compile only this module and its worker (tsc output laid out like build/).
    const build = await compileSources(["src/sources/sqlite-capture.ts", "src/sources/sqlite-worker.ts"]);
    const buildDir = build.dir;
    try {
      const compiled = join(buildDir, "sources", "sqlite-capture.js");
      expect(statSync(join(buildDir, "sources", "sqlite-worker.js")).isFile()).toBe(true);

      const src = join(dir, "c.db");
      const w = new Database(src);
      w.pragma("journal_mode = WAL");
      fill(w, 100);
      const script = `
        const m = await import(${JSON.stringify(compiled)});
        const cap = await m.captureSqlite(${JSON.stringify(src)}, ${JSON.stringify(join(out, "c-copy.db"))});
        console.log(JSON.stringify({ url: m.sqliteWorkerUrl().pathname, cap }));`;
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: repoRoot });
      w.close();
      const res = JSON.parse(stdout) as { url: string; cap: { quickCheck: string; journalMode: string } };
      expect(res.url).toMatch(/sources\/sqlite-worker\.js$/);
      expect(res.cap.quickCheck).toBe("ok");
      expect(res.cap.journalMode).toBe("wal");
      expect(await isSqliteFile(join(out, "c-copy.db"))).toBe(true);
    } finally {
      build.cleanup();
    }
  });
});

describe("workerExecArgv", () => {
  it("keeps loader and reporting options with their values, drops V8, per-process and inline-entry options", () => {
    expect(workerExecArgv([
      "--max-old-space-size=4096", "--expose-gc", "--import", "tsx/esm", "--input-type=module", "-e", "code()",
      "--conditions=dev", "-C", "prod", "--enable-source-maps", "--cpu-prof", "--cpu-prof-dir", "/tmp/p", "--stack-size=2000",
      "--experimental-vm-modules", "--eval", "more()", "-r", "./hook.cjs",
    ])).toEqual(["--import", "tsx/esm", "--conditions=dev", "-C", "prod", "--enable-source-maps", "--cpu-prof", "--cpu-prof-dir", "/tmp/p", "--experimental-vm-modules", "-r", "./hook.cjs"]);
  });

  it("gives options a Worker accepts even when the parent runs with V8 flags", async () => {
    const { Worker } = await import("node:worker_threads");
    const w = new Worker("require('node:worker_threads').parentPort.postMessage(process.execArgv)", {
      eval: true, execArgv: workerExecArgv(["--max-semi-space-size=2", "--max-old-space-size=300", "--enable-source-maps"]),
    });
    const got = await new Promise((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    await w.terminate();
    expect(got).toEqual(["--enable-source-maps"]);
  });
});
