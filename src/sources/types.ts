/**
 * What a source hands to the snapshot operation: a stream of entries in a
 * stable order (parents before children, then by name), each with the
 * metadata to record and, for regular files, where to read the bytes and
 * how to chunk them.
 */

/** How the bytes of a file are cut into chunks. */
export type ChunkingHint =
  /** Content-defined chunking (FastCDC), for general files. */
  | { readonly mode: "cdc" }
  /** Fixed-size chunks of `size` bytes aligned to offset 0, for SQLite databases (size = a multiple of the page size). */
  | { readonly mode: "fixed"; readonly size: number };

/** Facts about a consistent SQLite copy, recorded in the manifest. */
export interface SqliteCapture {
  /** When the read transaction that copied the database started, ms since the epoch. */
  readonly capturedAt: number;
  /** Page size in bytes (PRAGMA page_size). */
  readonly pageSize: number;
  /** Number of pages copied. */
  readonly pageCount: number;
  /** Result of PRAGMA quick_check on the copy: "ok" or the first problems found. */
  readonly quickCheck: string;
  /** Journal mode of the source database (wal, delete, ...). */
  readonly journalMode: string;
}

export type EntryType = "file" | "dir" | "symlink";

/** One entry of a source, with the metadata a restore needs. */
export interface SourceEntry {
  /** POSIX path relative to the source root, no leading `/`, no `.`/`..` segments; "" is the root itself. */
  readonly path: string;
  readonly type: EntryType;
  /** Permission bits and setuid/setgid/sticky (st_mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Modification time, ms since the epoch (fractional part kept). */
  readonly mtimeMs: number;
  /** Change time and inode, for the "unchanged since parent" test; 0 when unknown. */
  readonly ctimeMs: number;
  readonly ino: number;
  /** Size in bytes of the content to store (of the consistent copy for SQLite). */
  readonly size: number;
  /** Symlink target, as stored on disk (never resolved). */
  readonly linkTarget?: string;
  /** For files: the path to read the bytes from (the original, or a temporary consistent copy). */
  readonly contentPath?: string;
  readonly chunking?: ChunkingHint;
  /** Set when the file is a SQLite database copied through the backup API. */
  readonly sqlite?: SqliteCapture;
  /** True when the content may be reused from the parent snapshot if path/size/mtime/ctime/inode match (never for SQLite). */
  readonly reusable: boolean;
  /**
   * Present on a database copy the caller owns (walkDirectory with `databases: "when-copied"`): deletes
   * the copy and lets the walk copy the next database. Call it once done reading `contentPath`;
   * calling it again does nothing.
   */
  readonly release?: () => Promise<void>;
}

/** A non-fatal problem found while reading a source (skipped socket, database copied as a plain file...). */
export interface SourceWarning {
  readonly path: string;
  readonly message: string;
}
