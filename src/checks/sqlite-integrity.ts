/**
 * SQLite `PRAGMA integrity_check` (https://sqlite.org/pragma.html#pragma_integrity_check)
 * on a restored database, opened read-only.
 */
import Database from "better-sqlite3";

/** "ok", or the first problems SQLite reports (up to 10 lines), or the open error. */
export function sqliteIntegrity(path: string): { ok: boolean; detail: string } {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const rows = db.prepare("PRAGMA integrity_check(10)").pluck().all() as string[];
    const ok = rows.length === 1 && rows[0] === "ok";
    return { ok, detail: rows.join("; ") };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  } finally {
    db?.close();
  }
}
