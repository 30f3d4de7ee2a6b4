/**
 * One source of a snapshot: reads its entries (a directory walk, a declared
 * SQLite database, a command's output), stores what changed since the parent
 * snapshot, and writes the source's listing. A database the walk copied is
 * stored alongside the walk rather than after it: the main thread is the
 * walk's critical path and the frame workers a database's, so one after the
 * other each left the other's resources half idle (on D1 the main thread was
 * 70 % idle while the database was stored).
 */
import { rm } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { SourceError } from "../../core/errors.js";
import { CDC_DATA } from "../../core/fastcdc.js";
import { typeLetter, type ListingEntry, type SnapshotManifest, type SourceKind, type SourceRecord } from "../../core/manifest.js";
import type { ChunkReader } from "../../repo/chunk-reader.js";
import type { FramePool } from "../../repo/frame-pool.js";
import { ListingLookup, ListingWriter, encodeChunkList } from "../../repo/listing.js";
import type { PackSink } from "../../repo/pack-sink.js";
import { runCommandSource, sqliteFileSource, walkDirectory } from "../../sources/index.js";
import type { SourceEntry, SourceWarning } from "../../sources/types.js";
import type { HeadStart } from "./head-start.js";
import { readAhead, type Preloaded } from "./read-ahead.js";
import type { SnapshotProgress, SourceSpec } from "./snapshot.js";
import type { FileStorer } from "./store-file.js";

/** Counters of a whole snapshot (the manifest's statistics); bytes are content bytes. */
export interface SnapshotTotals {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  bytesRead: number;
}

/** What the sources of one snapshot share. */
export interface SourceRun {
  readonly sink: PackSink;
  /** Reads the parent's listings. */
  readonly reader: ChunkReader;
  /** Reads and hashes batches of small files ahead of the walk. */
  readonly pool: FramePool;
  /** Stores files in walk order. */
  readonly storer: FileStorer;
  /** Stores the databases a walk hands over, alongside `storer` (one at a time), in the sink's background lane. */
  readonly dbStorer: FileStorer;
  /** The repository's FastCDC gear seed, for the listing writer. */
  readonly gearSeed: Uint8Array;
  /** Folder for database copies and command output; the caller removes it. */
  readonly tempDir: string;
  /** Environment of command sources (allow-listed). */
  readonly env: Record<string, string>;
  readonly parent: SnapshotManifest | undefined;
  /** Updated as entries are stored. */
  readonly totals: SnapshotTotals;
  readonly onWarning: (w: SourceWarning) => void;
  readonly onProgress?: (p: SnapshotProgress) => void;
}

/**
 * Stores one source and writes its listing: entries in walk order, then the databases, each with its
 * capture facts. `started`: the source's walk, begun earlier (a HeadStart of `readSource`); by default it begins here.
 * @returns the source's record for the manifest.
 * @throws SourceError (missing or unreadable source, a declared database SQLite refuses), and whatever the
 *   sink throws. A database being stored alongside the walk is stopped and awaited before this throws.
 */
export async function storeSource(run: SourceRun, spec: SourceSpec, started?: HeadStart): Promise<SourceRecord> {
  const { sink, totals } = run;
  const parentListing = run.parent ? await loadParentListing(run.reader, run.parent, spec) : undefined;
  const startedAt = started?.startedAt ?? Date.now();
  const listing = new ListingWriter(sink, run.gearSeed);
  const databases: SourceRecord["databases"][number][] = [];
  /** Listing entries of the databases stored alongside the walk: added after it, where databases always came. */
  const stored: ListingEntry[] = [];
  /** The database being stored alongside the walk (the walk copies the next one after its release). */
  const background: Promise<void>[] = [];
  let backgroundFailure: { readonly err: unknown } | undefined;
  let bytes = 0;

  const unchanged = (entry: SourceEntry): ListingEntry | undefined => {
    const old = entry.reusable ? parentListing?.get(entry.path) : undefined;
    return old && old.t === "f" && old.s === entry.size && old.mt === entry.mtimeMs && old.ct === entry.ctimeMs && old.i === entry.ino && old.h && refsPresent(sink, old) ? old : undefined;
  };
  const progress = (entry: SourceEntry): void => {
    run.onProgress?.({ source: spec.name, path: entry.path, files: totals.files, bytesRead: totals.bytesRead });
  };

  /** Reads and stores one file's content: its listing entry, or undefined (with a warning) when it vanished. */
  const storeFile = async (storer: FileStorer, entry: SourceEntry, base: ListingEntry, content?: Promise<Preloaded | undefined>): Promise<ListingEntry | undefined> => {
    try {
      const got = await storer
        .store(entry.contentPath ?? "", {
          chunking: entry.chunking ?? { mode: "cdc" },
          ...(content ? { preloaded: content } : {}),
          onBytes: (n) => {
            totals.bytesRead += n;
          },
        })
        .catch((err: unknown) => {
          // Deleted between the walk and the read: like a file that vanished during the walk.
          if (err instanceof SourceError && err.details.errno === "ENOENT" && !entry.sqlite) return undefined;
          throw err;
        });
      if (!got) {
        run.onWarning({ path: entry.path, message: "vanished during the snapshot: not stored" });
        return undefined;
      }
      if (!entry.sqlite && got.sqliteHeader) {
        run.onWarning({ path: entry.path, message: "has a SQLite header but is not a whole number of pages (truncated or not a database): stored as a plain file" });
      }
      const chunkList = await encodeChunkList(sink, got.ids);
      if (entry.sqlite) databases.push({ path: entry.path, capturedAt: entry.sqlite.capturedAt, pageSize: entry.sqlite.pageSize, quickCheck: entry.sqlite.quickCheck });
      return {
        ...base, s: got.size, h: got.sha256, ...chunkList,
        ...(entry.chunking?.mode === "fixed" ? { z: entry.chunking.size } : {}),
        ...(entry.sqlite ? { q: entry.sqlite } : {}),
      };
    } finally {
      if (entry.release) await entry.release();
      else if (entry.contentPath?.startsWith(run.tempDir)) await rm(entry.contentPath, { force: true });
    }
  };

  /** Stores one entry of the walk, or hands a database copy to the background. */
  const storeEntry = async (entry: SourceEntry, content: Promise<Preloaded | undefined> | undefined): Promise<void> => {
    if (backgroundFailure) throw backgroundFailure.err;
    const base: ListingEntry = {
      p: entry.path, t: typeLetter(entry.type), m: entry.mode, u: entry.uid, g: entry.gid,
      mt: entry.mtimeMs, ct: entry.ctimeMs, i: entry.ino, s: entry.size,
    };
    if (entry.type === "dir") {
      totals.dirs++;
      await listing.add(base);
    } else if (entry.type === "symlink") {
      totals.symlinks++;
      await listing.add({ ...base, l: entry.linkTarget ?? "" });
    } else if (entry.release) {
      // A database copy the walk handed over: stored while the walk goes on.
      const task = storeFile(run.dbStorer, entry, base, content).then((done) => {
        if (!done) return;
        totals.files++;
        bytes += entry.size;
        stored.push(done);
        progress(entry);
      });
      task.catch((err: unknown) => {
        backgroundFailure ??= { err };
      });
      background.push(task);
    } else {
      const old = content ? undefined : unchanged(entry);
      const done = old ? { ...base, h: old.h, ...(old.c ? { c: old.c } : {}), ...(old.cl ? { cl: old.cl } : {}) } : await storeFile(run.storer, entry, base, content);
      if (!done) return;
      totals.files++;
      bytes += entry.size;
      await listing.add(done);
      progress(entry);
    }
  };

  try {
    for await (const { entry, content } of readAhead(started ?? readSource(spec, run.tempDir, run.env, run.onWarning), {
      wanted: (e) => !unchanged(e),
      // A file up to FastCDC's minimum size is one chunk: a worker can read and hash it whole.
      batches: { reader: run.pool, maxFileBytes: CDC_DATA.minSize },
    })) {
      try {
        await storeEntry(entry, content);
      } catch (err) {
        // Before leaving the loop, which stops the walk: a walk waiting for a database's release gets it
        // once the database stored alongside stops, at its next chunk.
        sink.cancel(err);
        throw err;
      }
    }
    await Promise.all(background);
  } catch (err) {
    sink.cancel(err); // a database still being stored stops at its next chunk...
    await Promise.allSettled(background); // ...and is no longer read when the caller closes the pool
    throw err;
  }
  for (const e of stored) await listing.add(e);
  totals.bytes += bytes;
  return {
    name: spec.name, kind: spec.kind as SourceKind, origin: originOf(spec),
    listing: await listing.finish(),
    entries: listing.count, bytes, startedAt, finishedAt: Date.now(), databases,
  };
}

/** Where a source reads from: its absolute path, or its command line. */
export function originOf(spec: SourceSpec): string {
  return spec.kind === "command" ? spec.command.join(" ") : resolve(spec.path);
}

/**
 * The entries of one source, in listing order: a directory walk (databases handed over as their copies are
 * ready), a declared database's copy, or a command's output. Copies and output go to `tempDir`.
 * @throws SourceError (missing or unreadable source, a declared database SQLite refuses, a failed command).
 */
export async function* readSource(spec: SourceSpec, tempDir: string, env: Record<string, string>, onWarning: (w: SourceWarning) => void): AsyncGenerator<SourceEntry> {
  if (spec.kind === "directory") {
    yield* walkDirectory(resolve(spec.path), {
      databases: "when-copied",
      ...(spec.include ? { include: [...spec.include] } : {}),
      ...(spec.exclude ? { exclude: [...spec.exclude] } : {}),
      sqlite: spec.sqlite ?? "auto",
      tempDir,
    }, { onWarning });
  } else if (spec.kind === "sqlite") {
    // A declared database is restored as <target>/<source name>/<its file name>.
    yield { ...(await sqliteFileSource(resolve(spec.path), tempDir)), path: basename(spec.path) };
  } else {
    yield await runCommandSource({ command: [...spec.command], name: spec.filename ?? spec.name, tempDir, env });
  }
}

async function loadParentListing(reader: ChunkReader, parent: SnapshotManifest, spec: SourceSpec): Promise<ListingLookup | undefined> {
  const rec = parent.sources.find((r) => r.name === spec.name && r.kind === spec.kind && r.origin === originOf(spec));
  if (!rec || spec.kind !== "directory") return undefined;
  // Defensive: a parent whose listing is not indexed is no parent (everything is read again).
  if (!rec.listing.every((id) => reader.index.has(Buffer.from(id, "hex")))) return undefined;
  return ListingLookup.read(reader, rec.listing, (e) => e.t === "f");
}

/** A parent's entry may be reused only when everything it references is still indexed. */
function refsPresent(sink: PackSink, e: ListingEntry): boolean {
  for (const id of e.c ?? []) if (!sink.has(Buffer.from(id, "hex"))) return false;
  for (const id of e.cl ?? []) if (!sink.has(Buffer.from(id, "hex"))) return false;
  return true;
}
