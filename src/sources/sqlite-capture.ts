/**
 * Consistent copy of a live SQLite database, made in a worker thread so the
 * caller's event loop keeps running (uploads, progress, timers).
 *
 * The method is described in sqlite-worker.ts: read-only connection, one read
 * transaction, the online backup API in ONE step (pages keep their numbers,
 * so fixed-size chunks of an unchanged page deduplicate), copy switched to
 * journal_mode=DELETE and checked with PRAGMA quick_check. The source is
 * never written: no checkpoint, no journal-mode change.
 */

import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { InterruptedError, SourceError } from "../core/errors.js";
import type { CaptureReply, CaptureRequest } from "./sqlite-worker.js";
import { SQLITE_SIBLING_SUFFIXES } from "./sqlite-detect.js";
import type { SqliteCapture } from "./types.js";
import { findWorkerUrl } from "./worker-url.js";

/** Options of {@link captureSqlite}. */
export interface CaptureSqliteOptions {
  /** How long to wait for a lock on the source before failing with SQLITE_BUSY, ms (default 5000). */
  readonly busyTimeoutMs?: number;
  /** Aborting stops the worker, removes the partial copy and rejects with InterruptedError. */
  readonly signal?: AbortSignal;
}

let cachedWorkerUrl: URL | undefined;

/**
 * Where the worker script is: `sqlite-worker.js` next to this module in the
 * compiled build, else `sqlite-worker.ts` when running from source (vitest),
 * which Node 24 loads through its built-in type stripping.
 */
export function sqliteWorkerUrl(): URL {
  return (cachedWorkerUrl ??= findWorkerUrl(import.meta.url, "sqlite-worker"));
}

/** Options a worker may take that change how its code is loaded or reported; the ones in TAKES_VALUE take the next argument. */
const WORKER_OPTIONS = ["--conditions", "-C", "--import", "--require", "-r", "--loader", "--experimental-", "--no-experimental-", "--enable-source-maps", "--no-warnings", "--disable-warning", "--no-deprecation", "--trace-warnings", "--cpu-prof", "--heap-prof"];
const TAKES_VALUE = new Set(["--conditions", "-C", "--import", "--require", "-r", "--loader", "--experimental-loader", "--disable-warning", "--cpu-prof-dir", "--cpu-prof-name", "--cpu-prof-interval", "--heap-prof-dir", "--heap-prof-name", "--heap-prof-interval"]);

/**
 * The options of the parent's `process.execArgv` to give a worker: those that
 * change how code is loaded (`--import`, `--conditions`, `--experimental-*`...)
 * or reported (`--enable-source-maps`, `--cpu-prof*`...), with their values.
 * Everything else is left out: an inline entry point's `--input-type`/`-e`
 * (Node refuses `--input-type` for a worker loaded from a file,
 * ERR_INPUT_TYPE_NOT_ALLOWED) and V8 or per-process options such as
 * `--max-old-space-size`, which make `new Worker` throw
 * ERR_WORKER_INVALID_EXEC_ARGV when given explicitly.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i] as string;
    const name = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    const keep = WORKER_OPTIONS.some((o) => (o.endsWith("-") ? name.startsWith(o) : name === o || name.startsWith(`${o}-`)));
    const valueNext = !a.includes("=") && (TAKES_VALUE.has(name) || ["--input-type", "-e", "--eval", "-p", "--print"].includes(name));
    if (keep) out.push(a);
    if (valueNext) {
      i++;
      if (keep && i < execArgv.length) out.push(execArgv[i] as string);
    }
  }
  return out;
}

function removeCopy(destPath: string): void {
  rmSync(destPath, { force: true });
  for (const s of SQLITE_SIBLING_SUFFIXES) rmSync(destPath + s, { force: true });
}

/**
 * Copy the SQLite database at `srcPath` (possibly being written by other
 * processes) to `destPath` as one consistent, self-contained file.
 *
 * - Runs in a `node:worker_threads` worker (always; there is no in-thread fallback).
 * - `destPath` is overwritten; its directory must exist. On success it has no
 *   `-wal`/`-shm`/`-journal` siblings and is in journal_mode=DELETE.
 * - Nothing is written to or next to the source, with one SQLite-inherent
 *   exception: readers of a WAL database that other connections have open
 *   record their read marks in the shared `-shm` index.
 * - WAL sources: the read transaction does not block writers. Rollback-journal
 *   sources: writers wait while the copy is made (they need the SHARED lock
 *   released), so their busy timeout must exceed the copy time.
 *
 * @returns the capture facts: `capturedAt` (ms since epoch, start of the read
 *   transaction), `pageSize` (bytes), `pageCount`, `journalMode` of the source,
 *   `quickCheck` ("ok").
 * @throws SourceError (`details.path`, `details.sqliteCode`) when the file is
 *   missing, is not a database, is corrupt (quick_check on the copy fails) or
 *   cannot be read; the message names the path and carries SQLite's message.
 * @throws InterruptedError when `opts.signal` aborts (once the worker has stopped and the partial copy is removed).
 * @throws Error when the worker itself fails (a bug, not a source problem).
 */
export async function captureSqlite(srcPath: string, destPath: string, opts: CaptureSqliteOptions = {}): Promise<SqliteCapture> {
  const req: CaptureRequest = {
    srcPath: resolve(srcPath),
    destPath: resolve(destPath),
    busyTimeoutMs: opts.busyTimeoutMs ?? 5000,
  };
  if (req.srcPath === req.destPath) {
    throw new SourceError(`SQLite copy of ${req.srcPath} cannot overwrite the source`, { path: req.srcPath });
  }
  if (opts.signal?.aborted) throw new InterruptedError(`SQLite capture of ${req.srcPath} interrupted`);
  const worker = new Worker(sqliteWorkerUrl(), { workerData: req, execArgv: workerExecArgv(process.execArgv) });
  return new Promise<SqliteCapture>((resolvePromise, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const onAbort = (): void => {
      finish(() => {
        // Rejects once the worker has stopped and its partial copy is gone, so a caller that then removes
        // its temporary folder cannot race a copy still being written.
        void worker.terminate().finally(() => {
          removeCopy(req.destPath);
          reject(new InterruptedError(`SQLite capture of ${req.srcPath} interrupted`));
        });
      });
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    worker.once("message", (reply: CaptureReply) => {
      finish(() => {
        if (reply.ok) {
          resolvePromise(reply.capture);
        } else if (reply.internal) {
          reject(new Error(`SQLite capture worker failed on ${req.srcPath}: ${reply.message}`));
        } else {
          reject(
            new SourceError(`cannot copy SQLite database ${req.srcPath}: ${reply.message}${reply.code ? ` (${reply.code})` : ""}`, {
              path: req.srcPath,
              sqliteCode: reply.code,
            }),
          );
        }
      });
    });
    worker.once("error", (err) => {
      finish(() => {
        removeCopy(req.destPath);
        reject(new Error(`SQLite capture worker crashed on ${req.srcPath}: ${err.message}`, { cause: err }));
      });
    });
    worker.once("exit", (exitCode) => {
      finish(() => {
        removeCopy(req.destPath);
        reject(new Error(`SQLite capture worker exited (code ${exitCode}) without a result for ${req.srcPath}`));
      });
    });
  });
}
