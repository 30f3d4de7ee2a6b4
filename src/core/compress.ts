/**
 * zstd compression through Node 24's `node:zlib` (RFC 8878 frames).
 * Level 1: on 64 KiB frames of D1 it compressed 1.4x faster than level 3 (zstd's
 * default), with a better ratio on the SQLite pages (3.21 against 3.19) and 4 %
 * worse on the npm tree (5.01 against 5.22); compression is most of a
 * snapshot's CPU time. `npm run bench` measures the three levels ("zstd level").
 */
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { IntegrityError } from "./errors.js";

/** zstd level used for frames and metadata. */
export const ZSTD_LEVEL = 1;

/** Compresses `data` into one zstd frame. */
export function compress(data: Uint8Array, level = ZSTD_LEVEL): Uint8Array {
  return zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel]: level } });
}

/**
 * Decompresses one zstd frame.
 * @param maxBytes upper bound on the output (bytes), guards against decompression bombs.
 * @throws IntegrityError when the input is not a valid zstd frame or exceeds `maxBytes`.
 */
export function decompress(data: Uint8Array, maxBytes = 256 * 1024 * 1024): Uint8Array {
  try {
    return zstdDecompressSync(data, { maxOutputLength: maxBytes });
  } catch (err) {
    throw new IntegrityError("zstd frame does not decompress", {}, { cause: err });
  }
}
