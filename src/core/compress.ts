/**
 * zstd compression through Node 24's `node:zlib` (RFC 8878 frames).
 * Level 3 is zstd's default and the level the benchmarks were measured with.
 */
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { IntegrityError } from "./errors.js";

/** zstd level used for frames and metadata. */
export const ZSTD_LEVEL = 3;

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
