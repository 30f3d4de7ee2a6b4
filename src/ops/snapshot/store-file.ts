/**
 * Reads one file's content, cuts it into chunks (FastCDC, or fixed
 * page-aligned chunks for SQLite databases), hands them to the pack sink, and
 * returns the chunk ids and the SHA-256 of the whole content.
 *
 * One `FileStorer` serves a whole snapshot, one file at a time: it keeps one
 * read buffer and one chunker for every file instead of allocating them per
 * file (on D1 the per-file 8 MiB blocks, chunker tables and tail copies were
 * most of the main thread's garbage).
 */
import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import { growBytes } from "../../core/bytes.js";
import { CDC_DATA, CdcChunker } from "../../core/fastcdc.js";
import type { HashStream } from "../../repo/frame-pool.js";
import type { ChunkKind } from "../../repo/pack-sink.js";
import { fsSourceError } from "../../sources/fs-errors.js";
import { SQLITE_MAGIC } from "../../sources/sqlite-detect.js";
import type { ChunkingHint } from "../../sources/types.js";
import type { Preloaded } from "./read-ahead.js";

/** Bytes read per read(2) call from a file that is not preloaded. */
const READ_BLOCK = 2 * 1024 * 1024; // 8 MiB read no faster on D1, and held 6 MiB more for the whole run
/** Blocks of a fixed-chunked file being hashed off the main thread at once (read ahead of the sink). */
const HASH_BLOCKS_AHEAD = 3;

/** Where chunks go (a PackSink); see PackSink.offer. */
export interface ChunkSink {
  /** The 32-byte id of `data`. */
  chunkId(data: Uint8Array): Uint8Array;
  /** Stores `data` under `id` unless known, copying what it keeps; a promise to await when it must wait. */
  offer(id: Uint8Array, data: Uint8Array, kind: ChunkKind): Promise<void> | undefined;
}

export interface StoredFile {
  /** The chunk ids in file order, 32 bytes each, end to end. */
  readonly ids: Uint8Array;
  /** SHA-256 of the content, hex. */
  readonly sha256: string;
  /** Bytes read. */
  readonly size: number;
  /** True when the content starts with the SQLite header ("SQLite format 3\0"). */
  readonly sqliteHeader: boolean;
}

/** Options of {@link FileStorer.store}. */
export interface StoreFileOptions {
  /** How to cut the content. */
  readonly chunking: ChunkingHint;
  /**
   * The whole content, already being read (read-ahead of small files), perhaps hashed too; then the
   * path is not opened, unless it resolves to undefined (the file grew since the walk).
   */
  readonly preloaded?: Promise<Preloaded | undefined>;
  /** Called with each block's byte count (progress). */
  readonly onBytes?: (n: number) => void;
}

/** Hashing off the main thread (a FramePool with the id key). */
export interface StreamHasher {
  hashStream(): HashStream;
}

export class FileStorer {
  private readonly cdc: CdcChunker;
  /** The read buffer, reused for every file (chunks are consumed before the next read). */
  private block: Uint8Array | undefined;
  /** Read buffers of fixed-chunked files hashed off this thread, reused for every such file. */
  private readonly hashBlocks: Uint8Array[] = [];

  /**
   * @param gear the repository's FastCDC gear table (256 entries).
   * @param hasher when given, files cut in fixed-size chunks (SQLite databases) are hashed by it, off
   *   this thread: on D1 the database's SHA-256 and 118,000 chunk HMACs were about 3 s of the main
   *   thread's work, and the main thread is a snapshot's critical path.
   */
  constructor(
    private readonly sink: ChunkSink,
    gear: Uint32Array,
    private readonly hasher?: StreamHasher,
  ) {
    this.cdc = new CdcChunker(CDC_DATA, gear);
  }

  /**
   * Stores the file at `path` (one call at a time per FileStorer).
   * @throws SourceError "cannot read <path>: <reason> (<errno>)" when the file cannot be opened or read
   *   (details.errno is "ENOENT" when it vanished since the walk); whatever the sink throws.
   */
  async store(path: string, opts: StoreFileOptions): Promise<StoredFile> {
    let pre: Preloaded | undefined;
    try {
      pre = await opts.preloaded;
    } catch (err) {
      throw fsSourceError("cannot read", path, err);
    }
    if (pre) {
      opts.onBytes?.(pre.data.length);
      if (!pre.hashed) return this.storeWhole(pre.data, opts.chunking);
      const { sha256, chunkId } = pre.hashed;
      if (chunkId) await this.sink.offer(chunkId, pre.data, 0);
      return { ids: chunkId ?? new Uint8Array(0), sha256, size: pre.data.length, sqliteHeader: hasSqliteHeader(pre.data) };
    }
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (err) {
      throw fsSourceError("cannot read", path, err);
    }
    try {
      return await this.storeStream(handle, path, opts);
    } finally {
      await handle.close();
    }
  }

  /** A file whose whole content is in `data`: cut in place, no copy. */
  private async storeWhole(data: Uint8Array, chunking: ChunkingHint): Promise<StoredFile> {
    const ids = new IdList();
    const fixed = chunking.mode === "fixed" ? chunking.size : 0;
    for (let off = 0; off < data.length; ) {
      const end = fixed ? Math.min(data.length, off + fixed) : this.cdc.findCut(data, off, data.length);
      const wait = this.put(ids, data.subarray(off, end));
      if (wait) await wait;
      off = end;
    }
    return { ids: ids.bytes(), sha256: createHash("sha256").update(data).digest("hex"), size: data.length, sqliteHeader: hasSqliteHeader(data) };
  }

  /** Reads `handle` to its end in blocks of the reused buffer, cutting as it goes. */
  private async storeStream(handle: FileHandle, path: string, opts: StoreFileOptions): Promise<StoredFile> {
    if (opts.chunking.mode === "fixed" && this.hasher) return this.storeFixedHashedOff(handle, path, opts.chunking.size, this.hasher, opts);
    const hash = createHash("sha256");
    const ids = new IdList();
    const fixed = opts.chunking.mode === "fixed" ? opts.chunking.size : 0;
    // Fixed chunks never straddle two blocks: a block is a whole number of chunks.
    const blockSize = fixed ? Math.max(fixed, Math.floor(READ_BLOCK / fixed) * fixed) : READ_BLOCK;
    if (!this.block || this.block.length < blockSize) this.block = new Uint8Array(blockSize);
    const buf = this.block.subarray(0, blockSize);
    let size = 0;
    let head: Uint8Array | undefined;
    let carry: Uint8Array | undefined; // fixed mode: a short read's tail (a live file that grew)
    for (;;) {
      let n: number;
      try {
        n = (await handle.read(buf, 0, blockSize, null)).bytesRead;
      } catch (err) {
        throw fsSourceError("cannot read", path, err);
      }
      if (n === 0) break;
      const data = buf.subarray(0, n);
      head ??= data.slice(0, 16);
      size += n;
      hash.update(data);
      opts.onBytes?.(n);
      if (!fixed) {
        for (const c of this.cdc.push(data)) {
          const wait = this.put(ids, c);
          if (wait) await wait;
        }
        continue;
      }
      const bytes = carry ? Buffer.concat([carry, data]) : data;
      carry = undefined;
      let off = 0;
      for (; off + fixed <= bytes.length; off += fixed) {
        const wait = this.put(ids, bytes.subarray(off, off + fixed));
        if (wait) await wait;
      }
      if (off < bytes.length) carry = bytes.slice(off);
    }
    for (const c of fixed ? (carry ? [carry] : []) : this.cdc.finish()) {
      const wait = this.put(ids, c);
      if (wait) await wait;
    }
    return { ids: ids.bytes(), sha256: hash.digest("hex"), size, sqliteHeader: head !== undefined && hasSqliteHeader(head) };
  }

  /**
   * `storeStream` for fixed-size chunks, hashed by `hasher`: up to HASH_BLOCKS_AHEAD blocks are read
   * and being hashed while this thread hands the previous block's chunks to the sink. Each block is
   * read full, so only the last one can end in a short chunk.
   */
  private async storeFixedHashedOff(handle: FileHandle, path: string, fixed: number, hasher: StreamHasher, opts: StoreFileOptions): Promise<StoredFile> {
    const blockSize = Math.max(fixed, Math.floor(READ_BLOCK / fixed) * fixed);
    const stream = hasher.hashStream();
    const ids = new IdList();
    const pending: Promise<{ block: Uint8Array; ids: Uint8Array }>[] = [];
    let size = 0;
    let head: Uint8Array | undefined;
    let eof = false;
    try {
      for (;;) {
        while (!eof && pending.length < HASH_BLOCKS_AHEAD) {
          const spare = this.hashBlocks.pop();
          const buf = spare && spare.length === blockSize ? spare : new Uint8Array(blockSize);
          const n = await readFull(handle, buf, path);
          if (n < blockSize) eof = true;
          if (n === 0) {
            this.hashBlocks.push(buf);
            break;
          }
          head ??= buf.slice(0, 16);
          size += n;
          opts.onBytes?.(n);
          pending.push(stream.block(buf.subarray(0, n), fixed));
        }
        const next = pending.shift();
        if (!next) break;
        const got = await next;
        for (let off = 0, k = 0; off < got.block.length; off += fixed, k += 32) {
          const id = got.ids.subarray(k, k + 32);
          ids.push(id);
          const wait = this.sink.offer(id, got.block.subarray(off, Math.min(off + fixed, got.block.length)), 0);
          if (wait) await wait;
        }
        this.hashBlocks.push(new Uint8Array(got.block.buffer));
      }
    } catch (err) {
      await Promise.allSettled(pending); // no block is left with a worker
      await stream.finish().catch(() => undefined);
      throw err;
    }
    return { ids: ids.bytes(), sha256: await stream.finish(), size, sqliteHeader: head !== undefined && hasSqliteHeader(head) };
  }

  /** Hands one data chunk to the sink and records its id; a promise when the caller must wait (no promise per chunk otherwise). */
  private put(ids: IdList, chunk: Uint8Array): Promise<void> | undefined {
    const id = this.sink.chunkId(chunk);
    ids.push(id);
    return this.sink.offer(id, chunk, 0);
  }
}

/**
 * A file's chunk ids as they come, end to end in one growing buffer: an array of 32-byte arrays
 * (a 480 MB database has 118,000 chunks) lived long enough to be promoted to V8's old generation,
 * where they were most of a snapshot's garbage.
 */
class IdList {
  private buf: Uint8Array = new Uint8Array(32 * 64);
  private used = 0;

  push(id: Uint8Array): void {
    this.buf = growBytes(this.buf, this.used + 32, this.used);
    this.buf.set(id, this.used);
    this.used += 32;
  }

  /** The ids so far (a copy). */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.used);
  }
}

/**
 * Reads into `buf` from the current position until it is full or the file ends.
 * @returns the bytes read. @throws SourceError naming `path`.
 */
async function readFull(handle: FileHandle, buf: Uint8Array, path: string): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    let got: number;
    try {
      got = (await handle.read(buf, n, buf.length - n, null)).bytesRead;
    } catch (err) {
      throw fsSourceError("cannot read", path, err);
    }
    if (got === 0) break;
    n += got;
  }
  return n;
}

function hasSqliteHeader(data: Uint8Array): boolean {
  return data.length >= 16 && Buffer.from(data.buffer, data.byteOffset, 16).equals(SQLITE_MAGIC);
}
