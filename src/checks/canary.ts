/**
 * The RPO canary (docs/drills.md, "Canary"): before each snapshot a
 * statement writes the current time into the live database; after a drill
 * restores the snapshot, a query reads the newest canary time back from
 * the restored copy. Drill start minus that time is the real recovery
 * point: the age of the newest write the backup actually holds, not just
 * the age of the snapshot.
 *
 * Defaults: the table `restorable_canary(id INTEGER PRIMARY KEY, at TEXT
 * NOT NULL)` is created when missing and one row is inserted per snapshot
 * (`at` = ISO 8601 UTC, `:now`); the read query is
 * `SELECT max(at) FROM restorable_canary`.
 */
import Database from "better-sqlite3";

/** The default statements. */
export const CANARY_DEFAULTS = {
  write: "CREATE TABLE IF NOT EXISTS restorable_canary(id INTEGER PRIMARY KEY, at TEXT NOT NULL); INSERT INTO restorable_canary(at) VALUES (:now)",
  read: "SELECT max(at) FROM restorable_canary",
} as const;

/** Splits a script at `;` outside quotes (enough for canary statements: no triggers, no BEGIN...END). */
function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === ";") {
      if (cur.trim()) out.push(cur.trim());
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/**
 * Writes the canary into the live database `db` (one transaction, waiting up to 5 s for the application's
 * write lock). Statements using `:now` get the time bound.
 * @returns the time written (ISO 8601).
 * @throws Error from SQLite (missing file, no such table for a custom statement...).
 */
export function writeCanary(db: string, write: string = CANARY_DEFAULTS.write, now: Date = new Date()): string {
  const at = now.toISOString();
  const conn = new Database(db, { fileMustExist: true, timeout: 5000 });
  try {
    conn.transaction(() => {
      for (const sql of splitStatements(write)) {
        const stmt = conn.prepare(sql);
        if (/:now\b/.test(sql)) stmt.run({ now: at });
        else stmt.run();
      }
    }).immediate();
  } finally {
    conn.close();
  }
  return at;
}

/**
 * Reads the canary time from a restored database (opened read-only): the first column of the first row of `read`,
 * ISO 8601 text or ms since the epoch.
 * @returns ms since the epoch and the value as found.
 * @throws Error when the database or the table is missing, or the value is not a time.
 */
export function readCanary(db: string, read: string = CANARY_DEFAULTS.read): { timeMs: number; raw: string } {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const v = conn.prepare(read).raw(true).get() as unknown[] | undefined;
    const x = v?.[0];
    if (x === undefined || x === null) throw new Error("no canary row found (was the snapshot taken with this restorable.yml?)");
    const ms = typeof x === "number" || typeof x === "bigint" ? Number(x) : typeof x === "string" ? Date.parse(x.includes("T") || !x.includes(" ") ? x : `${x.replace(" ", "T")}Z`) : NaN;
    if (!Number.isFinite(ms)) throw new Error(`the canary value ${JSON.stringify(String(x))} is not a time (ISO 8601 text or ms since the epoch)`);
    return { timeMs: ms, raw: String(x) };
  } finally {
    conn.close();
  }
}
