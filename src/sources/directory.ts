/**
 * Directory source: walks a folder tree and yields one SourceEntry per
 * directory, regular file and symlink, with SQLite databases copied
 * consistently (see sqlite-capture.ts) instead of read as they are.
 */

import { randomUUID } from "node:crypto";
import { lstatSync, readdirSync, type Stats } from "node:fs";
import { readlink, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ConfigError, InterruptedError, SourceError } from "../core/errors.js";
import { errnoCode, fsSourceError } from "./fs-errors.js";
import { makePathFilter, type PathFilter } from "./path-filter.js";
import { captureSqlite } from "./sqlite-capture.js";
import { isSqliteFile, SQLITE_SIBLING_SUFFIXES } from "./sqlite-detect.js";
import type { SourceEntry, SourceWarning, SqliteCapture } from "./types.js";

/** Options of {@link walkDirectory}. */
export interface WalkOptions {
  /** Globs (picomatch) on the path relative to the root; when set, only matching files and the directories leading to them are kept. */
  readonly include?: readonly string[];
  /** Globs (picomatch) on the path relative to the root; a matching entry is dropped and a matching directory is not descended into. */
  readonly exclude?: readonly string[];
  /**
   * "auto": a regular file with the SQLite header is copied with captureSqlite
   * and its -wal/-shm/-journal siblings are not yielded. "never": every file is
   * read as it is (and SQLite siblings are yielded like any file).
   */
  readonly sqlite: "auto" | "never";
  /** Existing folder for the SQLite copies; required with `sqlite: "auto"`. Never walked even if inside the root. */
  readonly tempDir?: string;
  /**
   * When databases found with `sqlite: "auto"` are yielded (each is copied in the background while the
   * walk goes on). "after-walk" (default): after every other entry; the walker deletes each copy when
   * the caller asks for the next entry. "when-copied": at the walk's next step once its copy is ready
   * (the rest after the walk); the copy then belongs to the caller, who reads it at its own pace and
   * MUST call the entry's `release()` when done: that deletes it and lets the next database's copy
   * start, so there is still one copy on disk at a time. A snapshot stores a database this way while
   * the walk goes on.
   */
  readonly databases?: "after-walk" | "when-copied";
}

/** Callbacks of {@link walkDirectory}. */
export interface WalkHooks {
  /** Receives non-fatal problems: skipped sockets/FIFOs/devices, vanished files, databases stored as plain files. */
  readonly onWarning?: (warning: SourceWarning) => void;
  /** Aborting makes the walk throw InterruptedError at the next entry. */
  readonly signal?: AbortSignal;
}

interface WalkContext {
  readonly filter: PathFilter;
  readonly sqlite: "auto" | "never";
  readonly tempDir: string | undefined;
  readonly warn: (path: string, message: string) => void;
  readonly signal: AbortSignal | undefined;
  /** Databases found by a directory walk with `sqlite: "auto"`: captured in the background (see WalkOptions.databases). */
  readonly databases?: DatabaseQueue;
}

interface Child {
  readonly name: string;
  readonly abs: string;
  readonly rel: string;
  readonly st: Stats;
}

/** An ancestor directory kept back until a descendant is kept (include patterns). */
interface Pending {
  readonly entry: SourceEntry;
  emitted: boolean;
}

function metadata(rel: string, st: Stats): Pick<SourceEntry, "path" | "mode" | "uid" | "gid" | "mtimeMs" | "ctimeMs" | "ino"> {
  return { path: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
}

function plainFileEntry(rel: string, abs: string, st: Stats): SourceEntry {
  return { ...metadata(rel, st), type: "file", size: st.size, contentPath: abs, chunking: { mode: "cdc" }, reusable: true };
}

/** Fixed chunk size for a database copy: max(pageSize, 4096) bytes, always a multiple of the page size (a power of two). */
export function sqliteChunkSize(pageSize: number): number {
  return Math.max(pageSize, 4096);
}

function sqliteEntry(rel: string, st: Stats, copyPath: string, copySize: number, capture: SqliteCapture): SourceEntry {
  return {
    ...metadata(rel, st),
    type: "file",
    size: copySize,
    contentPath: copyPath,
    chunking: { mode: "fixed", size: sqliteChunkSize(capture.pageSize) },
    sqlite: capture,
    reusable: false,
  };
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The databases a directory walk found, in walk order. Each is copied (captureSqlite: the copy and
 * PRAGMA quick_check, about 1.8 s for D1's 481 MB database, on a worker thread) while the walk goes
 * on and the caller stores the other entries: capturing in place kept the whole snapshot waiting.
 * One capture at a time, started once the previous database's copy has been deleted, so at most one
 * copy exists on disk. Entries come out after the walk (`drain`), or, when the caller releases copies
 * itself ("when-copied"), also as soon as each copy is ready (`takeReady`).
 */
class DatabaseQueue {
  private readonly found: Child[] = [];
  private running: { readonly child: Child; readonly entry: Promise<SourceEntry | undefined>; done: boolean } | undefined;
  private readonly stop = new AbortController();
  /** "when-copied": a copy handed out and not yet released; resolves on release. */
  private held: Promise<void> | undefined;

  constructor(
    private readonly ctx: WalkContext,
    /** True: the caller releases each copy (`release()` on the entry); false: walkDirectory deletes it. */
    readonly callerReleases: boolean,
  ) {}

  /** A database file was found: queue it, and start its capture when none is running. */
  add(child: Child): void {
    this.found.push(child);
    this.startNext();
  }

  /** True when a capture has finished and its entry can be handed out now. */
  get ready(): boolean {
    return this.running?.done === true;
  }

  /** Yields the finished capture's entry, if any (callerReleases only). */
  async *takeReady(): AsyncGenerator<SourceEntry> {
    if (!this.ready) return;
    yield await this.handOut();
    this.startNext(); // unless the caller holds the copy just handed out
  }

  /** Yields each database's entry (a plain file, with a warning, when SQLite refused it), in the order found. */
  async *drain(): AsyncGenerator<SourceEntry> {
    for (;;) {
      // Nothing left to capture: the walk ends now, even while the caller still holds a copy (waiting for its
      // release here kept the caller's last entries queued until a database was stored: 3.3 s of a D1 snapshot).
      if (!this.running && this.found.length === 0) return;
      if (this.held) await this.held; // the next capture starts once the caller released the copy
      this.startNext();
      if (!this.running) return;
      yield await this.handOut();
      // after-walk: walkDirectory deletes the copy before asking for the next entry, so the next capture starts after
      this.startNext();
    }
  }

  /** Stops a capture still running and removes its copy (the walk ended early). Copies handed out stay the caller's. */
  async close(): Promise<void> {
    this.found.length = 0;
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    this.stop.abort();
    const e = await running.entry.catch(() => undefined);
    if (e?.sqlite && e.contentPath) await rm(e.contentPath, { force: true });
  }

  private async handOut(): Promise<SourceEntry> {
    const { child, entry } = this.running!;
    const e = (await entry) ?? plainFileEntry(child.rel, child.abs, child.st);
    this.running = undefined;
    if (!this.callerReleases || !e.sqlite || !e.contentPath) return e;
    const copy = e.contentPath;
    let released: () => void = () => undefined;
    this.held = new Promise((r) => (released = r));
    let once: Promise<void> | undefined;
    const release = (): Promise<void> =>
      (once ??= rm(copy, { force: true }).finally(() => {
        this.held = undefined;
        released();
        this.startNext();
      }));
    return { ...e, release };
  }

  private startNext(): void {
    if (this.running || this.held) return;
    const child = this.found.shift();
    if (!child) return;
    const signal = this.ctx.signal ? AbortSignal.any([this.ctx.signal, this.stop.signal]) : this.stop.signal;
    const entry = tryCaptureEntry({ ...this.ctx, signal }, child);
    const running = { child, entry, done: false };
    entry.then(
      () => (running.done = true),
      () => (running.done = true), // awaited in order by handOut (or close)
    );
    this.running = running;
  }
}

/** Copy a database into tempDir; returns its entry, or undefined when SQLite refused it (SourceError). */
async function tryCaptureEntry(ctx: WalkContext, child: Child): Promise<SourceEntry | undefined> {
  const dest = join(ctx.tempDir as string, `sqlite-${randomUUID()}.db`);
  try {
    const capture = await captureSqlite(child.abs, dest, { signal: ctx.signal });
    const copySize = (await stat(dest)).size;
    return sqliteEntry(child.rel, child.st, dest, copySize, capture);
  } catch (err) {
    await rm(dest, { force: true });
    if (!(err instanceof SourceError)) throw err;
    ctx.warn(child.rel, `has a SQLite header but could not be copied as a database; stored as a plain file: ${err.message}`);
    return undefined;
  }
}

/**
 * Lists and sorts (byte order) the names of a directory's children, blocking, like statChild: through
 * fs/promises the walk of D1's tree (3,952 folders) waited 0.78 s for the thread pool, 197 µs per folder,
 * with nothing else for the main thread to do.
 */
function listNames(ctx: WalkContext, dirAbs: string, dirRel: string): string[] | undefined {
  let names: string[];
  try {
    names = readdirSync(dirAbs);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") {
      ctx.warn(dirRel, "directory vanished during the walk");
      return undefined;
    }
    throw fsSourceError("cannot read directory", dirAbs, err);
  }
  return names.sort(byteOrder);
}

/**
 * lstat() of one child, blocking, when the walk reaches it (undefined, with a warning, when it vanished).
 * Blocking calls measured on D1's tree (62,548 paths, warm cache, load 4): 3-6 µs of CPU per path,
 * against 18-19 µs through fs/promises with 16 in flight (dispatch and callback on the thread pool),
 * about 1 s of a snapshot. One call at a time, when the child is reached: a directory's Stats made all
 * at once lived long enough to be promoted to V8's old generation (about 17 MB of a D1 snapshot's garbage).
 */
function statChild(ctx: WalkContext, abs: string, rel: string): Stats | undefined {
  try {
    return lstatSync(abs);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw fsSourceError("cannot stat", abs, err);
    ctx.warn(rel, "vanished during the walk");
    return undefined;
  }
}

/**
 * Per-directory memo of "has the SQLite header", used for databases and for their siblings. Called
 * with the child's Stats when the walk is at that child, without them for a sibling (stat()ed here).
 */
function sqliteProbe(dirAbs: string): (name: string, st?: Stats) => Promise<boolean> {
  const memo = new Map<string, Promise<boolean>>();
  return (name, known) => {
    let p = memo.get(name);
    if (!p) {
      const abs = join(dirAbs, name);
      let st = known;
      if (!st) {
        try {
          st = lstatSync(abs);
        } catch {
          // a sibling that is gone or unreadable is no database
        }
      }
      // A database file is a whole number of pages of 512 to 65536 bytes (https://sqlite.org/fileformat2.html):
      // other sizes cannot be one, so nearly every plain file is spared a second open.
      p = st && st.isFile() && st.size >= 512 && st.size % 512 === 0 ? isSqliteFile(abs) : Promise.resolve(false);
      memo.set(name, p);
    }
    return p;
  };
}

/** True when `name` is `<db>-wal`, `<db>-shm` or `<db>-journal` of a SQLite database in the same directory. */
async function isSqliteSibling(name: string, probe: (name: string, st?: Stats) => Promise<boolean>): Promise<boolean> {
  for (const suffix of SQLITE_SIBLING_SUFFIXES) {
    if (name.length > suffix.length && name.endsWith(suffix)) {
      // An unreadable base is not treated as a database (its own entry reports the error if it is kept).
      if (await probe(name.slice(0, -suffix.length)).catch(() => false)) return true;
    }
  }
  return false;
}

async function fileEntry(ctx: WalkContext, child: Child, probe: (name: string, st?: Stats) => Promise<boolean>): Promise<SourceEntry> {
  if (ctx.sqlite === "auto" && (await probe(child.name, child.st))) {
    const captured = await tryCaptureEntry(ctx, child);
    if (captured) return captured;
  }
  // Not opened here: whoever reads `contentPath` reports a file it cannot read (fsSourceError).
  return plainFileEntry(child.rel, child.abs, child.st);
}

async function* walkTree(
  ctx: WalkContext,
  dirAbs: string,
  dirRel: string,
  ancestorIncluded: boolean,
  pending: Pending[],
): AsyncGenerator<SourceEntry> {
  const names = listNames(ctx, dirAbs, dirRel);
  if (!names) return;
  const probe = sqliteProbe(dirAbs);
  async function* flushPending(): AsyncGenerator<SourceEntry> {
    for (const p of pending) {
      if (!p.emitted) {
        p.emitted = true;
        yield p.entry;
      }
    }
  }
  for (const name of names) {
    if (ctx.signal?.aborted) throw new InterruptedError("directory walk interrupted");
    const abs = join(dirAbs, name);
    const rel = dirRel === "" ? name : `${dirRel}/${name}`;
    if (ctx.filter.excluded(rel)) continue;
    if (ctx.tempDir !== undefined && abs === ctx.tempDir) continue;
    const st = statChild(ctx, abs, rel);
    if (!st) continue;
    const child: Child = { name, abs, rel, st };
    const included = ancestorIncluded || ctx.filter.included(rel);
    if (st.isDirectory()) {
      const entry: SourceEntry = { ...metadata(rel, st), type: "dir", size: 0, reusable: false };
      if (included) {
        yield* flushPending();
        yield entry;
        yield* walkTree(ctx, abs, rel, true, []);
      } else if (ctx.filter.mayContainIncluded(rel)) {
        const mine: Pending = { entry, emitted: false };
        yield* walkTree(ctx, abs, rel, false, [...pending, mine]);
      }
      continue;
    }
    if (st.isSymbolicLink()) {
      if (!included) continue;
      let linkTarget: string;
      try {
        linkTarget = await readlink(abs);
      } catch (err) {
        throw fsSourceError("cannot read symlink", abs, err);
      }
      yield* flushPending();
      yield { ...metadata(rel, st), type: "symlink", size: 0, linkTarget, reusable: false };
      continue;
    }
    if (st.isFile()) {
      if (!included) continue;
      if (ctx.sqlite === "auto" && (await isSqliteSibling(child.name, probe))) continue;
      if (ctx.databases && (await probe(child.name, st))) {
        yield* flushPending(); // its folders come before it, as for any entry
        ctx.databases.add(child);
        continue;
      }
      const entry = await fileEntry(ctx, child, probe);
      yield* flushPending();
      yield entry;
      continue;
    }
    const kind = st.isFIFO() ? "FIFO" : st.isSocket() ? "socket" : st.isBlockDevice() ? "block device" : st.isCharacterDevice() ? "character device" : "special file";
    if (included) ctx.warn(rel, `skipped: a ${kind} is not backed up`);
  }
}

/**
 * Walk the tree under `root` and yield its entries: parents before children,
 * the children of a directory sorted by name in byte order (UTF-8), the root
 * itself first with path "". The root may be a symlink (followed); nothing
 * under it is followed: symlinks are yielded with `linkTarget` from readlink.
 *
 * Entries: directories (size 0), symlinks (size 0), regular files
 * (`contentPath` = the original, chunking cdc, reusable true). Sockets, FIFOs
 * and devices are skipped with a warning. With `sqlite: "auto"`, a file with
 * the SQLite header is copied into `tempDir` (chunking fixed, size
 * max(pageSize, 4096); `sqlite` facts; `contentPath` = the copy; `size` = the
 * copy's size; reusable false), its -wal/-shm/-journal siblings are not
 * yielded, and a database SQLite refuses (not a database, corrupt) is
 * yielded as a plain file with a warning. Databases are yielded after every
 * other entry, in walk order (their folders come in their place): each is
 * copied in the background while the rest of the walk is stored. With
 * `databases: "when-copied"`, each is yielded as soon as its copy is ready
 * (after its folders; between two other entries, or after the walk).
 *
 * Temporary copies, one at a time. Default: the walker deletes an entry's
 * copy when the caller asks for the next entry (or ends the iteration), so
 * the caller MUST read `contentPath` completely before calling `next()`
 * again. "when-copied": the caller owns each copy handed out and MUST call
 * its `release()`; the next copy starts after that. Either way at most one
 * database copy exists on disk at any time, and a copy not handed out yet is
 * deleted when the iteration ends. The caller still owns `tempDir` and
 * removes it at the end.
 *
 * @throws SourceError "source path does not exist: <root>" for a missing
 *   root; SourceError naming the path for an unreadable directory or
 *   symlink (EACCES...); files or directories that vanish during the walk
 *   are skipped with a warning. Regular files are not opened by the walk
 *   (one open per file is what the reader does anyway): reading
 *   `contentPath` is where an unreadable file fails.
 * @throws ConfigError when `sqlite` is "auto" and `tempDir` is missing.
 * @throws InterruptedError when `hooks.signal` aborts.
 */
export async function* walkDirectory(root: string, options: WalkOptions, hooks: WalkHooks = {}): AsyncGenerator<SourceEntry> {
  if (options.sqlite === "auto" && !options.tempDir) {
    throw new ConfigError('walkDirectory: "tempDir" is required when sqlite is "auto"', { field: "tempDir" });
  }
  const absRoot = resolve(root);
  let rootStat: Stats;
  try {
    rootStat = await stat(absRoot);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") throw new SourceError(`source path does not exist: ${root}`, { path: root }, { cause: err });
    throw fsSourceError("cannot read", absRoot, err);
  }
  const base: WalkContext = {
    filter: makePathFilter(options.include, options.exclude),
    sqlite: options.sqlite,
    tempDir: options.tempDir === undefined ? undefined : resolve(options.tempDir),
    warn: (path, message) => hooks.onWarning?.({ path, message }),
    signal: hooks.signal,
  };
  const callerReleases = options.databases === "when-copied";
  const databases = base.sqlite === "auto" && rootStat.isDirectory() ? new DatabaseQueue(base, callerReleases) : undefined;
  const ctx: WalkContext = databases ? { ...base, databases } : base;
  const inner: AsyncGenerator<SourceEntry> = rootStat.isDirectory()
    ? (async function* () {
        yield { ...metadata("", rootStat), type: "dir", size: 0, reusable: false } satisfies SourceEntry;
        yield* walkTree(ctx, absRoot, "", !ctx.filter.hasInclude, []);
        if (databases) yield* databases.drain();
      })()
    : singleFile(ctx, absRoot, rootStat);
  if (callerReleases) {
    try {
      for await (const entry of inner) {
        yield entry;
        if (databases?.ready) yield* databases.takeReady();
      }
    } finally {
      await databases?.close();
    }
    return;
  }
  let current: SourceEntry | undefined;
  try {
    for await (const entry of inner) {
      current = entry;
      yield entry;
      if (entry.sqlite && entry.contentPath) await rm(entry.contentPath, { force: true });
      current = undefined;
    }
  } finally {
    if (current?.sqlite && current.contentPath) await rm(current.contentPath, { force: true });
    await databases?.close();
  }
}

/** A root that is a file: one entry with path "". */
async function* singleFile(ctx: WalkContext, abs: string, st: Stats): AsyncGenerator<SourceEntry> {
  if (!st.isFile()) {
    throw new SourceError(`source path is neither a directory nor a regular file: ${abs}`, { path: abs });
  }
  const child: Child = { name: "", abs, rel: "", st };
  const probe = (): Promise<boolean> => isSqliteFile(abs);
  yield await fileEntry(ctx, child, probe);
}

/**
 * A single declared SQLite database (source kind `sqlite`): copies it with
 * captureSqlite into `tempDir` and returns its entry (path "", the source
 * root itself; chunking fixed max(pageSize, 4096); reusable false). The
 * caller deletes `contentPath` (the copy) once it has read it.
 *
 * Unlike the directory walk there is no plain-file fallback.
 * @throws SourceError when the path does not exist, is not a regular file,
 *   has no SQLite header, or SQLite cannot copy it (message names the path
 *   and SQLite's message).
 */
export async function sqliteFileSource(path: string, tempDir: string, opts: { signal?: AbortSignal } = {}): Promise<SourceEntry> {
  const abs = resolve(path);
  let st: Stats;
  try {
    st = await stat(abs);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") throw new SourceError(`source path does not exist: ${path}`, { path }, { cause: err });
    throw fsSourceError("cannot read", abs, err);
  }
  if (!st.isFile()) throw new SourceError(`SQLite source is not a regular file: ${abs}`, { path: abs });
  if (!(await isSqliteFile(abs))) {
    throw new SourceError(`SQLite source ${abs} is not a database: no "SQLite format 3" header`, { path: abs });
  }
  const dest = join(resolve(tempDir), `sqlite-${randomUUID()}.db`);
  const capture = await captureSqlite(abs, dest, { signal: opts.signal });
  const copySize = (await stat(dest)).size;
  return sqliteEntry("", st, dest, copySize, capture);
}
