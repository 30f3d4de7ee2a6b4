/**
 * zstd compression through Node 24's `node:zlib` (RFC 8878 frames).
 * Level 1: on 64 KiB frames of D1 it compressed 1.4x faster than level 3 (zstd's
 * default), with a better ratio on the SQLite pages (3.21 against 3.19) and 4 %
 * worse on the npm tree (5.01 against 5.22); compression is most of a
 * snapshot's CPU time. `npm run bench` measures the three levels ("zstd level").
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { IntegrityError } from "./errors.js";

/**
 * Node frees a zstd context (about 0.25 MB to decompress with its stream buffers, 0.5 MB to
 * compress) only when V8 collects the small JavaScript object that wraps it, and V8 sees no
 * reason to collect: heaptrack found 203 decompression contexts (52 MB) alive during the
 * structure check that ends a D1 snapshot. So every CALLS_PER_GC calls on a thread, a minor
 * collection (a scavenge, about a millisecond on these threads) frees them. (The frame workers,
 * src/repo/frame-worker.ts, do the same per 2 MiB of plaintext.)
 */
const CALLS_PER_GC = 32;
let calls = 0;
let minorGc: (() => void) | undefined;

function collectContexts(): void {
  if (++calls % CALLS_PER_GC !== 0) return;
  if (!minorGc) {
    // `--expose-gc` set at run time applies to contexts created afterwards, hence the new vm context.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as (options: { type: "minor" }) => void;
    minorGc = () => gc({ type: "minor" });
  }
  minorGc();
}

/** zstd level used for frames and metadata. */
export const ZSTD_LEVEL = 1;

/** Compresses `data` into one zstd frame. */
export function compress(data: Uint8Array, level = ZSTD_LEVEL): Uint8Array {
  collectContexts();
  return zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel]: level } });
}

/**
 * Decompresses one zstd frame.
 * @param maxBytes upper bound on the output (bytes), guards against decompression bombs.
 * @throws IntegrityError when the input is not a valid zstd frame or exceeds `maxBytes`.
 */
export function decompress(data: Uint8Array, maxBytes = 256 * 1024 * 1024): Uint8Array {
  collectContexts();
  try {
    return zstdDecompressSync(data, { maxOutputLength: maxBytes });
  } catch (err) {
    throw new IntegrityError("zstd frame does not decompress", {}, { cause: err });
  }
}
