/**
 * `restorable ls`: the entries of a snapshot, each named `SOURCE/path`
 * (the source's root folder is `SOURCE` itself), in listing order.
 */
import { NotFoundError } from "../core/errors.js";
import type { ListingEntry, SnapshotManifest } from "../core/manifest.js";
import { ChunkReader } from "../repo/chunk-reader.js";
import { readListing } from "../repo/listing.js";
import type { Repository } from "../repo/repository.js";

/** One entry as shown by `ls`. Times ISO 8601; sizes in bytes; mode = permission bits (st_mode & 0o7777). */
export interface LsEntry {
  /** `SOURCE/path`, or `SOURCE` for the source root. */
  readonly path: string;
  readonly source: string;
  readonly type: "file" | "dir" | "symlink";
  readonly mode: number;
  readonly size: number;
  readonly mtime: string;
  readonly uid: number;
  readonly gid: number;
  /** Symlink target, as stored. */
  readonly target?: string;
  /** SHA-256 (hex) of a file's content. */
  readonly sha256?: string;
}

/** A listing entry with the source it belongs to. */
export interface SnapshotEntry {
  readonly source: string;
  /** `SOURCE/path` or `SOURCE`. */
  readonly path: string;
  readonly entry: ListingEntry;
}

const TYPES = { f: "file", d: "dir", l: "symlink" } as const;

/** `SOURCE/path` of a listing path. */
export function fullPath(source: string, p: string): string {
  return p === "" ? source : `${source}/${p}`;
}

/**
 * Every entry of every source of `manifest`, in order.
 * @throws IntegrityError when a listing blob is missing or damaged.
 */
export async function readSnapshotEntries(reader: ChunkReader, manifest: SnapshotManifest): Promise<SnapshotEntry[]> {
  const out: SnapshotEntry[] = [];
  for (const s of manifest.sources) {
    for (const e of await readListing(reader, s.listing)) out.push({ source: s.name, path: fullPath(s.name, e.p), entry: e });
  }
  return out;
}

/** True when `path` is `prefix` or lies below it (whole segments). */
export function underPrefix(path: string, prefix: string): boolean {
  return prefix === "" || path === prefix || path.startsWith(`${prefix}/`);
}

/** The `ls` form of an entry. */
export function toLsEntry(e: SnapshotEntry): LsEntry {
  const x = e.entry;
  return {
    path: e.path, source: e.source, type: TYPES[x.t], mode: x.m & 0o7777, size: x.t === "f" ? x.s : 0,
    mtime: new Date(x.mt).toISOString(), uid: x.u, gid: x.g,
    ...(x.t === "l" ? { target: x.l ?? "" } : {}), ...(x.h ? { sha256: x.h } : {}),
  };
}

/**
 * The entries of `manifest` at or below `prefix` (`SOURCE/path`; leading and trailing `/` ignored).
 * @throws NotFoundError when a non-empty prefix matches nothing; IntegrityError for a damaged listing.
 */
export async function listSnapshotFiles(repo: Repository, manifest: SnapshotManifest, prefix = ""): Promise<LsEntry[]> {
  const clean = prefix.replace(/^\/+|\/+$/g, "");
  const { index } = await repo.loadIndex();
  const all = await readSnapshotEntries(new ChunkReader(repo, index), manifest);
  const picked = all.filter((e) => underPrefix(e.path, clean)).map(toLsEntry);
  if (clean !== "" && picked.length === 0) {
    throw new NotFoundError(`snapshot ${manifest.id} has no path ${clean} (sources: ${manifest.sources.map((s) => s.name).join(", ")})`, { snapshot: manifest.id, path: clean });
  }
  return picked;
}
