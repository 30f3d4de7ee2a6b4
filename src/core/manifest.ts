/**
 * Snapshot manifests and file listings (format v1, docs/format.md).
 *
 * A manifest is small: the per-file metadata lives in each source's
 * *listing*, a sequence of JSON lines cut by content-defined chunking and
 * stored as tree blobs in packs, so an unchanged part of a large tree costs
 * nothing in the next snapshot.
 */
import type { SqliteCapture } from "../sources/types.js";

export const MANIFEST_FORMAT = 1;

/** Kinds of source a snapshot can hold. */
export type SourceKind = "directory" | "sqlite" | "command";

/** One source inside a snapshot. */
export interface SourceRecord {
  /** Name of the source (from restorable.yml, or derived from the path): unique within the snapshot. */
  readonly name: string;
  readonly kind: SourceKind;
  /** The path (or command line) it was read from, as given. */
  readonly origin: string;
  /** Hex ids of the tree blobs that hold the listing, in order. */
  readonly listing: readonly string[];
  /** Entries, regular-file bytes, and when the source was read (ms since the epoch; for SQLite, the capture time). */
  readonly entries: number;
  readonly bytes: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Every SQLite database captured in this source, with its capture time. */
  readonly databases: readonly { readonly path: string; readonly capturedAt: number; readonly pageSize: number; readonly quickCheck: string }[];
}

/** Totals of one snapshot run. Bytes are bytes; durations ms. */
export interface SnapshotStats {
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  /** Total size of the regular files in the snapshot. */
  readonly bytes: number;
  /** Bytes actually read from disk (files unchanged since the parent are not read). */
  readonly bytesRead: number;
  /** Stored bytes this snapshot added to the repository (sealed frames + pack headers + index). */
  readonly bytesAdded: number;
  readonly chunksNew: number;
  readonly chunksTotal: number;
  readonly packsWritten: number;
  readonly durationMs: number;
}

/** The snapshot manifest, stored encrypted at `snapshots/<id>`; writing it commits the snapshot. */
export interface SnapshotManifest {
  readonly format: typeof MANIFEST_FORMAT;
  /** `YYYYMMDDTHHMMSSZ-xxxxxxxx`, sorts by time. */
  readonly id: string;
  /** Snapshot time (ISO 8601, UTC) and the same in ms. */
  readonly time: string;
  readonly timeMs: number;
  readonly host: string;
  readonly tags: readonly string[];
  readonly toolVersion: string;
  /** The snapshot whose unchanged files were reused, if any. */
  readonly parent?: string;
  /** Index files written by this snapshot (for diagnostics and repair). */
  readonly indexFiles: readonly string[];
  readonly sources: readonly SourceRecord[];
  readonly stats: SnapshotStats;
}

/**
 * One line of a listing. Short keys keep listings small:
 * p path, t type (f file, d dir, l symlink), m mode, u uid, g gid, mt mtime ms,
 * ct ctime ms, i inode, s size bytes, l symlink target, h SHA-256 hex of the content,
 * c chunk ids (hex) or cl ids of chunk-list blobs (each up to 1024 ids, binary),
 * z fixed chunk size for SQLite databases, q SQLite capture facts.
 */
export interface ListingEntry {
  readonly p: string;
  readonly t: "f" | "d" | "l";
  readonly m: number;
  readonly u: number;
  readonly g: number;
  readonly mt: number;
  readonly ct: number;
  readonly i: number;
  readonly s: number;
  readonly l?: string;
  readonly h?: string;
  readonly c?: readonly string[];
  readonly cl?: readonly string[];
  readonly z?: number;
  readonly q?: SqliteCapture;
}

/** Files with more chunks than this store their chunk list in chunk-list blobs. */
export const INLINE_CHUNKS_MAX = 64;
/** Chunk ids per chunk-list blob (32 bytes each: 32 KiB blobs). */
export const CHUNK_LIST_BLOB_IDS = 1024;

/** Short type letter of a listing entry for a source entry type. */
export function typeLetter(type: "file" | "dir" | "symlink"): "f" | "d" | "l" {
  return type === "file" ? "f" : type === "dir" ? "d" : "l";
}
