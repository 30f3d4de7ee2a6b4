/**
 * Reads one file's content, cuts it into chunks (FastCDC, or fixed
 * page-aligned chunks for SQLite databases), hands them to the pack sink, and
 * returns the chunk ids and the SHA-256 of the whole content.
 */
import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import { CDC_DATA, CdcChunker } from "../../core/fastcdc.js";
import type { PackSink } from "../../repo/pack-sink.js";
import { fsSourceError } from "../../sources/fs-errors.js";
import { SQLITE_MAGIC } from "../../sources/sqlite-detect.js";
import type { ChunkingHint } from "../../sources/types.js";

/** Bytes read per read(2) call. */
const READ_BLOCK = 8 * 1024 * 1024;

export interface StoredFile {
  readonly ids: Uint8Array[];
  /** SHA-256 of the content, hex. */
  readonly sha256: string;
  /** Bytes read. */
  readonly size: number;
  /** True when the content starts with the SQLite header ("SQLite format 3\0"). */
  readonly sqliteHeader: boolean;
}

/**
 * Stores the file at `path`.
 * @param gear the repository's FastCDC gear table.
 * @param onBytes called with each block's byte count (progress).
 * @throws SourceError "cannot read <path>: <reason> (<errno>)" when the file cannot be opened or read
 *   (details.errno is "ENOENT" when it vanished since the walk).
 */
export async function storeFile(
  sink: PackSink,
  gear: Uint32Array,
  path: string,
  chunking: ChunkingHint,
  onBytes?: (n: number) => void,
  /** The size the walk saw (bytes): small files get a buffer of their size, not READ_BLOCK. */
  sizeHint = READ_BLOCK,
  /** The whole content, already being read (read-ahead of small files); then `path` is not opened. */
  preloaded?: Promise<Uint8Array>,
): Promise<StoredFile> {
  let handle: FileHandle | undefined;
  let first: Uint8Array | undefined;
  try {
    if (preloaded) first = await preloaded;
    else handle = await open(path, "r");
  } catch (err) {
    throw fsSourceError("cannot read", path, err);
  }
  const hash = createHash("sha256");
  const ids: Uint8Array[] = [];
  let size = 0;
  let head: Uint8Array | undefined;
  try {
    const cdc = chunking.mode === "cdc" ? new CdcChunker(CDC_DATA, gear) : undefined;
    const fixed = chunking.mode === "fixed" ? chunking.size : 0;
    const block = fixed ? Math.max(fixed, Math.floor(READ_BLOCK / fixed) * fixed) : READ_BLOCK;
    let carry: Uint8Array | undefined; // fixed mode: a short read's tail
    for (;;) {
      // A fresh buffer per read (chunks handed to the sink may alias it), sized for what is left,
      // +1 byte: a short read is the end of a regular file, so a small file costs one read and one
      // buffer of its own size. A live file that grew past the hint is read on in full blocks.
      const left = size < sizeHint ? sizeHint - size + 1 : block;
      const want = fixed ? Math.min(block, Math.ceil(left / fixed) * fixed) : Math.min(block, left);
      let buf: Uint8Array;
      let n = 0;
      if (first) {
        // Preloaded: the whole file in one block, then the end.
        buf = first;
        n = first.length;
        first = undefined;
      } else if (!handle) {
        break;
      } else {
        buf = new Uint8Array(want);
        try {
          n = (await handle.read(buf, 0, want, null)).bytesRead;
        } catch (err) {
          throw fsSourceError("cannot read", path, err);
        }
      }
      if (n === 0) break;
      const data = buf.subarray(0, n);
      head ??= data.slice(0, 16);
      size += n;
      hash.update(data);
      onBytes?.(n);
      if (cdc) {
        for (const c of cdc.push(data)) ids.push(await sink.add(c, 0));
      } else {
        const bytes = carry ? Buffer.concat([carry, data]) : data;
        carry = undefined;
        let off = 0;
        for (; off + fixed <= bytes.length; off += fixed) ids.push(await sink.add(bytes.subarray(off, off + fixed), 0));
        if (off < bytes.length) carry = bytes.slice(off);
      }
      if (!handle || n < want) break;
    }
    if (cdc) for (const c of cdc.finish()) ids.push(await sink.add(c, 0));
    else if (carry && carry.length) ids.push(await sink.add(carry, 0));
  } finally {
    await handle?.close();
  }
  return { ids, sha256: hash.digest("hex"), size, sqliteHeader: head !== undefined && Buffer.from(head).equals(SQLITE_MAGIC) };
}
