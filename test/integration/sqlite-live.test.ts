/**
 * ACCEPTANCE: consistent copies of a SQLite database that another process
 * keeps writing to. The writer moves money between accounts (the total is
 * constant) and appends a transfer row per transaction; every copy must pass
 * PRAGMA integrity_check and keep the total, while the writer keeps
 * committing at >= 20 transactions/s during the capture window.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureSqlite } from "../../src/sources/sqlite-capture.js";

const ACCOUNTS = 20_000;
const START_BALANCE = 1000;
const TOTAL = ACCOUNTS * START_BALANCE;
const WINDOW_MS = 3000;

// The writer: its own process, its own better-sqlite3 connection, WAL mode.
const WRITER = String.raw`
const Database = require(process.env.BETTER_SQLITE3);
const db = new Database(process.argv[2], { timeout: 10000 });
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
const n = Number(process.argv[3]);
const move = db.prepare("UPDATE accounts SET balance = balance + ? WHERE id = ?");
const log = db.prepare("INSERT INTO transfers(src, dst, amount, at) VALUES (?, ?, ?, ?)");
const transfer = db.transaction((a, b, amount) => {
  move.run(-amount, a);
  move.run(amount, b);
  log.run(a, b, amount, Date.now());
});
let stop = false;
process.on("SIGTERM", () => { stop = true; });
process.stdout.write("ready\n");
(function loop() {
  if (stop) { db.close(); process.exit(0); }
  const a = 1 + Math.floor(Math.random() * n);
  const b = 1 + Math.floor(Math.random() * n);
  transfer(a, b, 1 + Math.floor(Math.random() * 50));
  setTimeout(loop, 4);
})();
`;

let dir: string;
let out: string;
let dbPath: string;
let writer: ChildProcess | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "restorable-live-"));
  out = mkdtempSync(join(tmpdir(), "restorable-live-out-"));
  dbPath = join(dir, "bank.sqlite");
  const db = new Database(dbPath);
  db.pragma("journal_mode = WAL");
  db.exec(`CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, pad BLOB);
           CREATE TABLE transfers(id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER, at INTEGER);
           CREATE INDEX transfers_at ON transfers(at);`);
  const ins = db.prepare("INSERT INTO accounts(id, balance, pad) VALUES (?, ?, randomblob(200))");
  db.transaction(() => {
    for (let i = 1; i <= ACCOUNTS; i++) ins.run(i, START_BALANCE);
  })();
  db.close();
});

afterAll(async () => {
  if (writer && writer.exitCode === null) {
    const exited = new Promise((r) => writer?.once("exit", r));
    writer.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

function startWriter(): Promise<ChildProcess> {
  const script = join(dir, "writer.cjs");
  writeFileSync(script, WRITER);
  const child = spawn(process.execPath, [script, dbPath, String(ACCOUNTS)], {
    env: { ...process.env, BETTER_SQLITE3: createRequire(import.meta.url).resolve("better-sqlite3") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`writer exited early (status ${code}): ${stderr}`)));
  });
}

describe("captureSqlite under a live writer process (acceptance)", () => {
  it("every copy is consistent while the writer keeps committing >= 20 transactions/s", async () => {
    writer = await startWriter();
    const reader = new Database(dbPath, { readonly: true });
    const count = (): number => (reader.prepare("SELECT count(*) AS n FROM transfers").get() as { n: number }).n;
    // Let the writer warm up.
    while (count() < 20) await new Promise((r) => setTimeout(r, 20));

    const copies: { path: string; startedAt: number; endedAt: number }[] = [];
    const c0 = count();
    const t0 = Date.now();
    while (Date.now() - t0 < WINDOW_MS) {
      const path = join(out, `copy-${copies.length}.db`);
      const startedAt = Date.now();
      const cap = await captureSqlite(dbPath, path);
      copies.push({ path, startedAt, endedAt: Date.now() });
      expect(cap.journalMode).toBe("wal");
      expect(cap.quickCheck).toBe("ok");
    }
    const t1 = Date.now();
    const c1 = count();
    // Commit timestamps during the window: the longest pause between two commits.
    const ats = (reader.prepare("SELECT at FROM transfers WHERE at BETWEEN ? AND ? ORDER BY id").all(t0, t1) as { at: number }[]).map((r) => r.at);
    reader.close();

    const rate = (c1 - c0) / ((t1 - t0) / 1000);
    let maxGap = 0;
    for (let i = 1; i < ats.length; i++) maxGap = Math.max(maxGap, (ats[i] as number) - (ats[i - 1] as number));
    const durations = copies.map((c) => c.endedAt - c.startedAt);
    console.log(
      `live capture: ${copies.length} copies in ${t1 - t0} ms (each ${Math.min(...durations)}-${Math.max(...durations)} ms); ` +
        `writer committed ${c1 - c0} transactions = ${rate.toFixed(1)}/s; longest pause between commits ${maxGap} ms`,
    );
    expect(rate).toBeGreaterThanOrEqual(20);
    expect(copies.length).toBeGreaterThanOrEqual(3);
    // WAL readers do not block the writer: it kept committing all through the
    // window, which was almost entirely spent inside captureSqlite calls.
    expect(maxGap).toBeLessThan(500);
    const busy = durations.reduce((a, b) => a + b, 0);
    const during = ats.filter((at) => copies.some((c) => at >= c.startedAt && at <= c.endedAt)).length;
    expect(during / (busy / 1000)).toBeGreaterThanOrEqual(20);

    let previous = 0;
    for (const copy of copies) {
      const db = new Database(copy.path, { readonly: true, fileMustExist: true });
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(db.pragma("journal_mode", { simple: true })).toBe("delete");
      const sum = (db.prepare("SELECT sum(balance) AS s, count(*) AS n FROM accounts").get() as { s: number; n: number });
      expect(sum).toEqual({ s: TOTAL, n: ACCOUNTS });
      const n = (db.prepare("SELECT count(*) AS n FROM transfers").get() as { n: number }).n;
      expect(n).toBeGreaterThanOrEqual(previous); // copies are successive snapshots
      previous = n;
      db.close();
    }
    // The last copy saw most of the window's commits, and nothing stayed next to any copy.
    expect(previous).toBeGreaterThan(c0);
    expect(readdirSync(out).filter((n) => /-(wal|shm|journal)$/.test(n))).toEqual([]);
  });
});
