/**
 * Worker-thread body of `captureSqlite` (see sqlite-capture.ts): copies one
 * live SQLite database to a self-contained file, off the main event loop.
 *
 * This file is loaded by `new Worker(url)` in two forms: the compiled
 * `build/sources/sqlite-worker.js`, and this `.ts` file itself when the
 * project runs from source (vitest), through Node 24's built-in type
 * stripping. So it must stay "erasable" TypeScript (no enums, namespaces or
 * parameter properties) and import nothing local at run time: only
 * `node:` modules, `better-sqlite3`, and `import type` (erased).
 *
 * Method (SQLite docs: https://www.sqlite.org/backup.html,
 * https://www.sqlite.org/c3ref/backup_finish.html, https://www.sqlite.org/wal.html):
 *  1. The source is opened read-only and a read transaction is started;
 *     in WAL mode that pins one snapshot without blocking writers.
 *  2. The online backup API copies every page in ONE `sqlite3_backup_step`
 *     inside that transaction, so page N of the copy is page N of the
 *     source (dedup-friendly, unlike VACUUM INTO) and no writer can make the
 *     backup restart (a stepwise backup may never finish under a writer).
 *  3. The copy is switched to journal_mode=DELETE (a WAL source gives a copy
 *     whose header says WAL: bytes 18-19 = 2), checked with
 *     `PRAGMA quick_check`, and left without -wal/-shm/-journal siblings.
 *
 * A read-only connection to a WAL database that nobody has open creates an
 * empty `-wal` and a `-shm` next to it and cannot remove them. To leave
 * nothing next to the source in that case (WAL header, no sibling files),
 * the file is copied byte for byte instead and the copy is accepted only if
 * the source's size, inode, mtime and ctime (ns) are unchanged and still no
 * sibling appeared; otherwise the backup path above is taken.
 */

import { closeSync, copyFileSync, existsSync, openSync, readSync, rmSync, statSync } from "node:fs";
import type { BigIntStats } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import type { SqliteCapture } from "./types.js";

/** What the main thread sends (as `workerData`). Paths are absolute. */
export interface CaptureRequest {
  readonly srcPath: string;
  readonly destPath: string;
  /** How long SQLite waits for a lock on the source before SQLITE_BUSY, ms. */
  readonly busyTimeoutMs: number;
}

/** What the worker posts back, exactly once. */
export type CaptureReply =
  | { readonly ok: true; readonly capture: SqliteCapture }
  | {
      readonly ok: false;
      /** true for a bug or an environment problem, false for a problem of the source database. */
      readonly internal: boolean;
      /** SQLite result code name (SQLITE_NOTADB...) or errno (ENOENT...), when known. */
      readonly code: string | undefined;
      readonly message: string;
    };

/** Largest page count better-sqlite3 passes to sqlite3_backup_step (an int32): "everything left". */
const ALL_PAGES = 0x7fffffff;
const SIBLINGS = ["-wal", "-shm", "-journal"];
const MAGIC = "SQLite format 3\0";

/** An error about the source database, with a SQLite or errno code. */
class CaptureFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function removeSiblings(path: string): void {
  for (const s of SIBLINGS) rmSync(path + s, { force: true });
}

function siblingsAbsent(path: string): boolean {
  return SIBLINGS.every((s) => !existsSync(path + s));
}

/** The first 100 bytes (the database header), or undefined when the file cannot be read. */
function readHeader(path: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const buf = Buffer.alloc(100);
    return readSync(fd, buf, 0, 100, 0) === 100 ? buf : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function sameFile(a: BigIntStats, b: BigIntStats): boolean {
  return a.size === b.size && a.ino === b.ino && a.dev === b.dev && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * Copy a WAL-mode database that no connection has open (no -wal, -shm or
 * -journal) byte for byte. Returns the capture time, or undefined when the
 * case does not apply or the file changed during the copy (then `dest` is removed).
 */
function copyQuiescentWal(src: string, dest: string): number | undefined {
  const header = readHeader(src);
  if (!header || header.toString("latin1", 0, 16) !== MAGIC || header[18] !== 2 || header[19] !== 2) return undefined;
  if (!siblingsAbsent(src)) return undefined;
  const before = statSync(src, { bigint: true });
  const capturedAt = Date.now();
  copyFileSync(src, dest);
  const after = statSync(src, { bigint: true });
  if (sameFile(before, after) && siblingsAbsent(src)) return capturedAt;
  rmSync(dest, { force: true });
  return undefined;
}

/** One-step online backup inside one read transaction of a read-only connection. */
async function copyWithBackupApi(req: CaptureRequest): Promise<{ capturedAt: number; journalMode: string }> {
  const db = new Database(req.srcPath, { readonly: true, fileMustExist: true, timeout: req.busyTimeoutMs });
  try {
    const journalMode = String(db.pragma("journal_mode", { simple: true }));
    db.exec("BEGIN");
    const capturedAt = Date.now();
    // The first read starts the read transaction: the snapshot that is copied.
    db.prepare("SELECT count(*) FROM sqlite_schema").get();
    await db.backup(req.destPath, { progress: () => ALL_PAGES });
    db.exec("COMMIT");
    return { capturedAt, journalMode };
  } finally {
    db.close();
  }
}

/** Make the copy self-contained (journal_mode=DELETE) and read its facts. */
function finishCopy(dest: string): { pageSize: number; pageCount: number; quickCheck: string } {
  const db = new Database(dest, { fileMustExist: true });
  try {
    if (String(db.pragma("journal_mode", { simple: true })) !== "delete") db.pragma("journal_mode = DELETE");
    // Not through mmap: it made quick_check of D1's 481 MB copy faster (460 ms against 730 ms) but
    // every page it touched counted in the process's resident set, 480 MB of peak RSS.
    const rows = db.pragma("quick_check(10)") as { quick_check: string }[];
    return {
      pageSize: Number(db.pragma("page_size", { simple: true })),
      pageCount: Number(db.pragma("page_count", { simple: true })),
      quickCheck: rows.map((r) => r.quick_check).join("\n"),
    };
  } finally {
    db.close();
  }
}

async function capture(req: CaptureRequest): Promise<SqliteCapture> {
  rmSync(req.destPath, { force: true });
  removeSiblings(req.destPath);
  try {
    let capturedAt = copyQuiescentWal(req.srcPath, req.destPath);
    let journalMode = "wal";
    if (capturedAt === undefined) ({ capturedAt, journalMode } = await copyWithBackupApi(req));
    const facts = finishCopy(req.destPath);
    removeSiblings(req.destPath);
    if (facts.quickCheck !== "ok") {
      throw new CaptureFailure("SQLITE_CORRUPT", `PRAGMA quick_check on the copy failed: ${facts.quickCheck}`);
    }
    return { capturedAt, journalMode, ...facts };
  } catch (err) {
    rmSync(req.destPath, { force: true });
    removeSiblings(req.destPath);
    const code = (err as { code?: unknown }).code;
    if (code === "SQLITE_CANTOPEN" && !existsSync(req.srcPath)) {
      throw new CaptureFailure(code, `${(err as Error).message}: the file does not exist`);
    }
    throw err;
  }
}

function toReply(err: unknown): CaptureReply {
  const code = typeof (err as { code?: unknown })?.code === "string" ? (err as { code: string }).code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  // SQLite errors and file-system errors (errno codes start with E) are about the source.
  const aboutSource = code !== undefined && (code.startsWith("SQLITE_") || /^E[A-Z]+$/.test(code));
  return { ok: false, internal: !aboutSource, code, message: aboutSource ? message : (err as Error)?.stack ?? message };
}

if (parentPort) {
  const port = parentPort;
  capture(workerData as CaptureRequest).then(
    (c) => port.postMessage({ ok: true, capture: c } satisfies CaptureReply),
    (err: unknown) => port.postMessage(toReply(err)),
  );
}
