/**
 * The restore use case. A snapshot's source `NAME` is restored to
 * `<target>/NAME/`, each entry at its listed path below that.
 *
 * Safety (docs/format.md, "Restore safety"): the snapshot's structure is
 * checked first; every path is checked before anything is written; the
 * target must be empty (or, `inPlace`, is first moved aside to
 * `<target>.pre-restore-<stamp>` so rollback is a rename); directories are
 * created first, files are written under temporary names with O_EXCL |
 * O_NOFOLLOW and renamed into place, and symlinks are created last, each only
 * in a parent whose real path is inside the target, so no write can follow a
 * symlink out of the target. Every chunk is authenticated (HMAC) as it is
 * decoded, and every file's content is checked against the listing's SHA-256
 * before its rename.
 *
 * Speed: packs are taken in the order first needed and cut into segments of
 * about 2 MiB of sealed frames (segments.ts), each read with ranged reads and
 * handed to the restore pool (restore-pool.ts), whose worker threads decode,
 * check and write with blocking calls, one segment at a time per worker, at
 * most workers + 1 segments in memory. On data set D1 (docs/benchmarks.md;
 * 2 cores) this took restore from 24.6 s to about 11 s, restic's time.
 */
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, openSync, renameSync, rmSync } from "node:fs";
import { chmod, lchown, lstat, mkdir, readdir, realpath, rename, symlink, utimes } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import picomatch from "picomatch";
import { random, toHex } from "../../core/crypto.js";
import { collectGarbage } from "../../core/gc.js";
import { ConfigError, IntegrityError, UnsafePathError } from "../../core/errors.js";
import type { ChunkLocation } from "../../core/index-codec.js";
import type { ListingEntry, SnapshotManifest, SourceRecord } from "../../core/manifest.js";
import { assertSafeName, assertSafeRelativePath, isWithin } from "../../core/safe-path.js";
import { ChunkReader } from "../../repo/chunk-reader.js";
import { fileChunkIdBytes, readListing } from "../../repo/listing.js";
import type { Repository } from "../../repo/repository.js";
import { checkStructure } from "../verify/structure.js";
import { RestoreJobError, RestorePool, type FileColumns } from "./restore-pool.js";
import { FileTable, type FileMetadata } from "./file-table.js";
import { segmentJob } from "./segment-job.js";
import { CHUNK_FIELDS, planSegments } from "./segments.js";
import { sha256File } from "./hash-file.js";

export interface RestoreOptions {
  /** Folder to restore into; created when missing; must be empty unless `inPlace`. */
  readonly target: string;
  /** Move an existing non-empty target aside to `<target>.pre-restore-<stamp>` first. */
  readonly inPlace?: boolean;
  /** Only entries matching these globs (against `NAME/path`), plus the folders leading to them. */
  readonly include?: readonly string[];
  /** Restore even when the structure check finds problems (damaged files still fail). */
  readonly force?: boolean;
  /** Re-read every restored file and compare its SHA-256 with the manifest. */
  readonly verify?: boolean;
  readonly onProgress?: (p: { files: number; bytes: number }) => void;
}

export interface RestoreResult {
  readonly snapshot: string;
  readonly target: string;
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  /** Bytes of file content written. */
  readonly bytes: number;
  /** Where the previous content of the target went (`inPlace`). */
  readonly movedAside?: string;
  /** True when `verify` re-read every file and all matched. */
  readonly verified: boolean;
  readonly durationMs: number;
}

/** Flags of every file restore creates: never an existing file, never through a symlink. */
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Sealed bytes per pool job: small enough to keep both cores busy to the end and memory low. */
const SEGMENT_BYTES = 2 * 1024 * 1024;
/** SHA-256 of no bytes (hex). */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The error to throw for a failed pool job: IntegrityError naming the file for damage, else the file-system error. */
function jobFailure(err: unknown, describe: (file: number) => string, pack: string | undefined, snapshot: string): Error {
  if (!(err instanceof RestoreJobError)) return err as Error;
  const d = err.detail;
  const where = d.file !== undefined ? describe(d.file) : `snapshot ${snapshot}`;
  if (d.kind === "integrity") {
    return new IntegrityError(`${where}: ${pack ? `pack ${pack}: ` : ""}${d.message}`, { snapshot, ...(pack ? { pack } : {}) }, { cause: err });
  }
  return Object.assign(new Error(`${where}: ${d.message}`, { cause: err }), d.code ? { code: d.code } : {});
}

/**
 * Restores `manifest` into `options.target`.
 * @throws ConfigError (target not empty), IntegrityError (damaged snapshot or chunk), UnsafePathError (hostile listing).
 */
export async function restore(repo: Repository, manifest: SnapshotManifest, options: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  const { target, movedAside, files, columns, packIds, dirEntries, links, dirs } = await planRestore(repo, manifest, options);
  const plan = planSegments(files, SEGMENT_BYTES);
  // Planning leaves its garbage in V8's old generation (D1: about 35 MB of listing entries, index
  // lookups and segment maps, and as much in dead ArrayBuffers, the index among them), and the data
  // phase allocates too little on this thread for V8 to schedule a full collection before it ends:
  // collect it now, before the pool's buffers arrive.
  collectGarbage("shrink");
  // 2 (continued). files: decoded, checked and written by the restore pool, a segment of a pack per job
  let symlinks = 0;
  let bytes = 0;
  let doneFiles = 0;
  const describe = (i: number): string => `snapshot ${manifest.id}, file ${files.path(i)}`;
  for (let i = 0; i < files.count; i++) {
    if (files.table(i).length === 0) {
      const h = files.sha256(i);
      if (h !== undefined && h !== EMPTY_SHA256) throw new IntegrityError(`${describe(i)}: empty, but the listing says sha256 ${h}`, { path: files.path(i), snapshot: manifest.id });
      writeEmptySync(files.temp(i), files.abs(i), files.metadata(i), files.isDatabase(i));
      doneFiles++;
    } else if (!plan.whole[i]) {
      closeSync(openSync(files.temp(i), CREATE, 0o600)); // its segments write into it
      files.remaining[i] = plan.segmentsPerFile[i]!;
    }
  }
  const pool = new RestorePool(repo.keys, columns);
  const pending = new Set<Promise<void>>();
  let failure: Error | undefined;
  const track = (job: Promise<void>, pack: string | undefined): void => {
    const p: Promise<void> = job
      .catch((err: unknown) => {
        failure ??= jobFailure(err, describe, pack, manifest.id);
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  try {
    for (const seg of plan.segments) {
      await pool.room().catch(() => undefined); // a failure is reported by its job
      if (failure || pool.failed) break;
      const pack = toHex(packIds[seg.pack]!);
      const s = await segmentJob(repo, pool, files, seg, pack, () => describe(seg.files[0]!.file));
      track(
        pool.run(s.job).then(() => {
          bytes += s.bytes;
          doneFiles += s.whole;
          for (const i of s.split) {
            if (--files.remaining[i]! === 0) {
              track(pool.run({ file: i }).then(() => {
                doneFiles++;
                options.onProgress?.({ files: doneFiles, bytes });
              }), undefined);
            }
          }
          options.onProgress?.({ files: doneFiles, bytes });
        }),
        pack,
      );
    }
    while (pending.size) await Promise.race(pending);
    if (failure ?? pool.failed) throw failure ?? pool.failed;
  } finally {
    await pool.close();
  }
  // 3. symlinks, last, each in a parent inside the target
  for (const { name, entry: e } of links) {
    const abs = join(target, name, e.p);
    await mkdir(dirname(abs), { recursive: true, mode: 0o700 });
    const parent = await realpath(dirname(abs));
    if (!isWithin(target, parent)) throw new UnsafePathError(`refusing symlink ${name}/${e.p}: its folder resolves outside the target`, { path: e.p });
    await symlink(e.l ?? "", abs);
    symlinks++;
  }
  // 4. folder modes and times, deepest first (writing inside a folder changes its mtime)
  for (const { abs, entry } of [...dirEntries].sort((a, b) => b.abs.length - a.abs.length)) {
    const st = await lstat(abs);
    if (!st.isDirectory()) throw new UnsafePathError(`${abs} is not a folder`, { path: entry.p });
    await chmod(abs, entry.m & 0o7777);
    await utimes(abs, entry.mt / 1000, entry.mt / 1000);
    await chownIfRoot(abs, entry);
  }
  let verified = false;
  if (options.verify) {
    for (let i = 0; i < files.count; i++) {
      const abs = files.abs(i);
      const h = await sha256File(abs);
      const want = files.sha256(i);
      if (h !== want) throw new IntegrityError(`restored ${abs} does not match the snapshot (sha256 ${h}, expected ${want})`, { path: files.path(i), snapshot: manifest.id });
    }
    verified = true;
  }
  return {
    snapshot: manifest.id, target, files: files.count, dirs, symlinks, bytes,
    ...(movedAside ? { movedAside } : {}), verified, durationMs: Math.round(performance.now() - started),
  };
}

/** What planning hands to the data phase. */
interface RestorePlan {
  readonly target: string;
  readonly movedAside: string | undefined;
  readonly files: FileTable;
  /** The file table's columns, shared with the restore workers. */
  readonly columns: FileColumns;
  /** Pack ids by the pack numbers of the files' chunk tables. */
  readonly packIds: readonly Uint8Array[];
  readonly dirEntries: readonly { abs: string; entry: ListingEntry }[];
  readonly links: readonly { name: string; entry: ListingEntry }[];
  readonly dirs: number;
}

/**
 * Steps 0-2 of a restore: checks the snapshot's structure and every listed path, prepares the
 * target, creates the folders, and plans every file (its chunks' locations in the table). Nothing
 * it loads (the index, the listings) outlives it.
 */
async function planRestore(repo: Repository, manifest: SnapshotManifest, options: RestoreOptions): Promise<RestorePlan> {
  const { index } = await repo.loadIndex();
  // The check reads every listing; restore takes them from it instead of reading them again.
  const listed = new Map<SourceRecord, ListingEntry[]>();
  const structure = await checkStructure(repo, index, [manifest], { listings: listed });
  if (!structure.ok && !options.force) {
    const p = structure.problems[0]!;
    throw new IntegrityError(
      `snapshot ${manifest.id} is damaged (${structure.problems.length} problem(s); first: ${p.path ? `${p.source}/${p.path}: ` : ""}${p.message}); run \`restorable verify\`, or restore anyway with --force`,
      { snapshot: manifest.id, problems: structure.problems.slice(0, 20) },
    );
  }
  const reader = new ChunkReader(repo, index);
  // Read and check every listing before touching the target.
  const listings: { name: string; entries: ListingEntry[] }[] = [];
  const match = options.include?.length ? picomatch([...options.include], { dot: true }) : undefined;
  for (const src of manifest.sources) {
    assertSafeName(src.name);
    const all = listed.get(src) ?? (await readListing(reader, src.listing)); // read here when the check could not (--force)
    const seen = new Set<string>();
    for (const e of all) {
      assertSafeRelativePath(e.p);
      if (seen.has(e.p)) throw new UnsafePathError(`listing of ${src.name} has ${JSON.stringify(e.p)} twice`, { path: e.p });
      seen.add(e.p);
    }
    listings.push({ name: src.name, entries: match ? selectIncluded(src.name, all, match, options.include!) : all });
  }
  const movedAside = await prepareTarget(resolve(options.target), options.inPlace ?? false);
  const target = await realpath(resolve(options.target));

  let dirs = 0;
  const files = new FileTable(target, listings.map((l) => l.name), toHex(random(6)));
  const fileEntries: (ListingEntry | undefined)[] = []; // until their chunk ids are read
  const dirEntries: { abs: string; entry: ListingEntry }[] = [];
  const links: { name: string; entry: ListingEntry }[] = [];
  // 1. directories
  const made = new Set<string>();
  for (const [source, { name, entries }] of listings.entries()) {
    await mkdir(join(target, name), { mode: 0o700 });
    made.add(join(target, name));
    for (const e of entries) {
      if (e.t === "d") {
        const abs = join(target, name, e.p);
        if (e.p !== "") await mkdirExact(abs);
        made.add(abs);
        dirEntries.push({ abs, entry: e });
        dirs++;
      } else if (e.t === "l") {
        links.push({ name, entry: e });
      } else if (e.t === "f") {
        files.add(source, e);
        fileEntries.push(e);
      }
    }
  }
  // The listings were read for the structure check; restore holds only what it needs from here on.
  listings.length = 0;
  listed.clear();
  // 2. files: planned here (their chunks' packs and frames); restore() writes them
  const packs = new Map<Uint8Array, number>(); // the index hands out one array per pack
  const packIds: Uint8Array[] = [];
  for (let i = 0; i < files.count; i++) {
    const parent = dirname(files.abs(i));
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true, mode: 0o700 }); // no symlink exists in the target yet
      made.add(parent);
    }
    const ids = await fileChunkIdBytes(reader, fileEntries[i]!);
    fileEntries[i] = undefined; // its chunk ids are in the table now
    const table = new Float64Array((ids.length / 32) * CHUNK_FIELDS);
    let size = 0;
    for (let at = 0, k = 0; at < ids.length; at += 32, k += CHUNK_FIELDS) {
      let loc: ChunkLocation;
      try {
        loc = reader.locate(ids.subarray(at, at + 32));
      } catch (err) {
        throw new IntegrityError(`${manifest.id}: ${files.path(i)}: ${(err as Error).message}`, { snapshot: manifest.id, path: files.path(i) }, { cause: err });
      }
      let pack = packs.get(loc.packId);
      if (pack === undefined) {
        packs.set(loc.packId, (pack = packIds.length));
        packIds.push(loc.packId);
      }
      table[k] = pack;
      table[k + 1] = loc.frameOffset;
      table[k + 2] = loc.frameLength;
      table[k + 3] = loc.innerOffset;
      table[k + 4] = loc.length;
      table[k + 5] = size;
      size += loc.length;
    }
    if (size !== files.size(i)) throw new IntegrityError(`${files.path(i)}: chunks add up to ${size} bytes, the listing says ${files.size(i)}`, { path: files.path(i), snapshot: manifest.id });
    files.setChunks(ids, table);
  }
  fileEntries.length = 0;
  made.clear();
  return { target, movedAside, files, columns: files.freeze(), packIds, dirEntries, links, dirs };
}

/** Creates an empty file under its temporary name `temp`, sets mode, times and owner, and renames it to `abs`. */
function writeEmptySync(temp: string, abs: string, meta: FileMetadata, database: boolean): void {
  const fd = openSync(temp, CREATE, 0o600);
  try {
    fchmodSync(fd, meta.mode);
    futimesSync(fd, meta.mtime / 1000, meta.mtime / 1000);
    if (process.getuid?.() === 0) fchownSync(fd, meta.uid, meta.gid);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, abs);
  if (database) for (const suffix of ["-wal", "-shm", "-journal"]) rmSync(abs + suffix, { force: true });
}

async function chownIfRoot(path: string, e: ListingEntry): Promise<void> {
  if (process.getuid?.() === 0) await lchown(path, e.u, e.g);
}

async function mkdirExact(abs: string): Promise<void> {
  try {
    await mkdir(abs, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    if (!(await lstat(abs)).isDirectory()) throw new UnsafePathError(`${abs} exists and is not a folder`, { path: abs });
  }
}

/** Checks the target is empty (or moves it aside); returns where it moved. */
async function prepareTarget(target: string, inPlace: boolean): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      await mkdir(target, { recursive: true });
      return undefined;
    }
    if ((err as NodeJS.ErrnoException).code === "ENOTDIR") throw new ConfigError(`--target ${target} is not a folder`, { field: "target" });
    throw err;
  }
  if (names.length === 0) return undefined;
  if (!inPlace) throw new ConfigError(`--target ${target} is not empty; choose an empty folder, or use --in-place to move its content aside first`, { field: "target" });
  const aside = `${target}.pre-restore-${new Date().toISOString().replace(/[-:.]/g, "")}`;
  await rename(target, aside);
  await mkdir(target, { recursive: true });
  return aside;
}

/** Entries matching the include globs, plus the folders on the way to them. */
function selectIncluded(name: string, entries: readonly ListingEntry[], match: (p: string) => boolean, patterns: readonly string[]): ListingEntry[] {
  const full = (p: string): string => (p ? `${name}/${p}` : name);
  const prefixes = patterns.map((p) => p.replace(/\/+$/, ""));
  const keep = new Set<string>();
  for (const e of entries) {
    const f = full(e.p);
    if (match(f) || prefixes.some((p) => f.startsWith(p + "/") || f === p)) {
      keep.add(e.p);
      for (let p = e.p; p.includes("/"); ) {
        p = p.slice(0, p.lastIndexOf("/"));
        keep.add(p);
      }
      keep.add("");
    }
  }
  return entries.filter((e) => keep.has(e.p));
}
