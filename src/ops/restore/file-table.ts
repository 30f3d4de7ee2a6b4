/**
 * The files a restore writes, in columns. D1 restores 58,588 files: an
 * object per file (paths built with `path.join`, metadata, chunk arrays),
 * made once while planning and again for every pool job, took about 50 MB of
 * the main thread's heap, and the restore workers' heaps grew by as much from
 * the copies they were sent. Here each file is a row of typed columns: its
 * path as UTF-8 bytes, its metadata as numbers, its chunk fields and ids in
 * two slabs. `freeze()` moves the file columns into shared memory once, for
 * every restore worker to read; a pool job then names files by number.
 */
import { dirname, join } from "node:path";
import { growBytes } from "../../core/bytes.js";
import { IntegrityError } from "../../core/errors.js";
import type { ListingEntry } from "../../core/manifest.js";
import type { FileColumns } from "./restore-pool.js";
import { CHUNK_FIELDS, type ChunkTables } from "./segments.js";

/** Growable Float64Array / Uint8Array with amortised doubling (capped growth of 64 Mi elements per step). */
function grow<T extends Float64Array | Uint8Array>(a: T, need: number, make: (n: number) => T): T {
  if (need <= a.length) return a;
  const next = make(Math.max(need, a.length + Math.min(a.length, 64 * 1024 * 1024), 1024));
  next.set(a);
  return next;
}

/** A copy of `values` in shared memory. */
function sharedF64(values: readonly number[]): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(8 * values.length));
  out.set(values);
  return out;
}

/** A copy of the first `n` bytes of `bytes` in shared memory. */
function sharedBytes(bytes: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(n));
  out.set(bytes.subarray(0, n));
  return out;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A file's metadata as restore sets it: permission bits, mtime in ms, owner. */
export interface FileMetadata {
  readonly mode: number;
  readonly mtime: number;
  readonly uid: number;
  readonly gid: number;
}

export class FileTable implements ChunkTables {
  private files = 0;
  private paths: Uint8Array = new Uint8Array(64 * 1024);
  private pathBytes = 0;
  private readonly pathEnd: number[] = [];
  private readonly source: number[] = [];
  private readonly mode: number[] = [];
  private readonly mtime: number[] = [];
  private readonly uid: number[] = [];
  private readonly gid: number[] = [];
  private readonly sizes: number[] = [];
  private sha: Uint8Array = new Uint8Array(32 * 1024);
  private readonly hasSha: number[] = [];
  private readonly database: number[] = [];
  private shared: FileColumns | undefined;
  /** First chunk of file i is `start[i]`; its chunks end at `start[i + 1]`. */
  private readonly start: number[] = [0];
  private fields = new Float64Array(0);
  private idBytes = new Uint8Array(0);
  /** Segments still to write per split file (see restore.ts). */
  readonly remaining: number[] = [];

  /**
   * @param target the restore target's real path; `names` the snapshot's source names (folders below it).
   * @param tag random hex in every temporary name, so names never collide with existing files.
   */
  constructor(private readonly target: string, private readonly names: readonly string[], private readonly tag: string) {}

  /** Files planned. */
  get count(): number {
    return this.files;
  }

  /**
   * Plans file `e` (a checked listing entry) of source `source`; its chunks come with `setChunks`, in planning order.
   * @returns its number.
   * @throws IntegrityError when the entry's `h` is not 64 lower-case hex digits; RangeError after `freeze()`.
   */
  add(source: number, e: ListingEntry): number {
    if (this.shared) throw new RangeError("FileTable.add: the table is frozen");
    const i = this.files++;
    this.paths = growBytes(this.paths, this.pathBytes + 3 * e.p.length, this.pathBytes);
    this.pathBytes += Buffer.from(this.paths.buffer, this.paths.byteOffset, this.paths.length).write(e.p, this.pathBytes, "utf8");
    this.pathEnd.push(this.pathBytes);
    this.source.push(source);
    this.mode.push(e.m & 0o7777);
    this.mtime.push(e.mt);
    this.uid.push(e.u);
    this.gid.push(e.g);
    this.sizes.push(e.s);
    this.sha = growBytes(this.sha, 32 * (i + 1), 32 * i);
    if (e.h !== undefined) {
      if (!SHA256_HEX.test(e.h)) throw new IntegrityError(`${e.p}: the listing's sha256 ${JSON.stringify(e.h)} is not 64 hex digits`, { path: e.p });
      Buffer.from(this.sha.buffer, this.sha.byteOffset, this.sha.length).write(e.h, 32 * i, "hex");
    }
    this.hasSha.push(e.h !== undefined ? 1 : 0);
    this.database.push(e.q !== undefined ? 1 : 0);
    this.remaining.push(0);
    return i;
  }

  /**
   * Completes the table once every file has its chunks: trims the chunk slabs to their size (they
   * grow by doubling) and returns the file columns in shared memory, for the restore workers. Later
   * calls return the same columns; the table takes no more files or chunks.
   */
  freeze(): FileColumns {
    if (this.shared) return this.shared;
    const chunks = this.start[this.start.length - 1]!;
    this.fields = this.fields.slice(0, chunks * CHUNK_FIELDS);
    this.idBytes = this.idBytes.slice(0, chunks * 32);
    this.shared = {
      target: this.target, names: this.names, tag: this.tag,
      paths: sharedBytes(this.paths, this.pathBytes), pathEnd: sharedF64(this.pathEnd),
      source: sharedF64(this.source), mode: sharedF64(this.mode), mtime: sharedF64(this.mtime),
      uid: sharedF64(this.uid), gid: sharedF64(this.gid),
      sha256: sharedBytes(this.sha, 32 * this.files),
      hasSha256: sharedBytes(Uint8Array.from(this.hasSha), this.files),
      database: sharedBytes(Uint8Array.from(this.database), this.files),
    };
    return this.shared;
  }

  /**
   * Records the chunks of the next file without chunks (files get them in the order they were added).
   * @param ids the chunk ids, 32 bytes each; `fields` CHUNK_FIELDS numbers per chunk.
   */
  setChunks(ids: Uint8Array, fields: Float64Array): void {
    const n = ids.length / 32;
    const first = this.start[this.start.length - 1]!;
    if (this.start.length > this.files || this.shared) throw new RangeError("FileTable.setChunks: every planned file has its chunks");
    this.fields = grow(this.fields, (first + n) * CHUNK_FIELDS, (k) => new Float64Array(k));
    this.idBytes = grow(this.idBytes, (first + n) * 32, (k) => new Uint8Array(k));
    this.fields.set(fields, first * CHUNK_FIELDS);
    this.idBytes.set(ids, first * 32);
    this.start.push(first + n);
  }

  /** File `i`'s path in its source's listing. */
  path(i: number): string {
    const from = i === 0 ? 0 : this.pathEnd[i - 1]!;
    return Buffer.from(this.paths.buffer, this.paths.byteOffset + from, this.pathEnd[i]! - from).toString("utf8");
  }

  /** File `i`'s size in the listing (bytes). */
  size(i: number): number {
    return this.sizes[i]!;
  }

  /** File `i`'s SHA-256 in the listing (lower-case hex), when it has one. */
  sha256(i: number): string | undefined {
    return this.hasSha[i] ? Buffer.from(this.sha.subarray(32 * i, 32 * i + 32)).toString("hex") : undefined;
  }

  /** True when file `i` is a SQLite database (its `-wal`, `-shm`, `-journal` siblings go once it is placed). */
  isDatabase(i: number): boolean {
    return this.database[i] === 1;
  }

  /** File `i`'s metadata. */
  metadata(i: number): FileMetadata {
    return { mode: this.mode[i]!, mtime: this.mtime[i]!, uid: this.uid[i]!, gid: this.gid[i]! };
  }

  /** The CHUNK_FIELDS numbers of file `i`'s chunks (a view). */
  table(i: number): Float64Array {
    return this.fields.subarray(this.start[i]! * CHUNK_FIELDS, this.start[i + 1]! * CHUNK_FIELDS);
  }

  /** The 32-byte id of chunk `k` of file `i` (a view). */
  chunkId(i: number, k: number): Uint8Array {
    const at = (this.start[i]! + k) * 32;
    return this.idBytes.subarray(at, at + 32);
  }

  /** Where file `i` ends up: `<target>/<source name>/<path>` (the restore worker names it the same way). */
  abs(i: number): string {
    return join(this.target, this.names[this.source[i]!]!, this.path(i));
  }

  /** The temporary name file `i` is written under, beside its final path (the restore worker names it the same way). */
  temp(i: number): string {
    return join(dirname(this.abs(i)), `.restorable-tmp-${this.tag}-${i.toString(36)}`);
  }
}
