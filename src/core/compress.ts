/**
 * zstd compression through Node 24's `node:zlib` (RFC 8878 frames).
 * Level 1: on 64 KiB frames of D1 it compressed 1.4x faster than level 3 (zstd's
 * default), with a better ratio on the SQLite pages (3.21 against 3.19) and 4 %
 * worse on the npm tree (5.01 against 5.22); compression is most of a
 * snapshot's CPU time. `npm run bench` measures the three levels ("zstd level").
 */
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { IntegrityError } from "./errors.js";
import { collectGarbage } from "./gc.js";

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

function collectContexts(): void {
  if (++calls % CALLS_PER_GC === 0) collectGarbage("minor");
}

/** The 4 bytes every zstd frame starts with (RFC 8878, section 3.1.1: 0xFD2FB528 little-endian). */
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const;

/** True when `data` starts with the zstd frame magic. */
function isZstdFrame(data: Uint8Array): boolean {
  return data.length >= 4 && ZSTD_MAGIC.every((b, i) => data[i] === b);
}

/** Output buffer steps of `decompress` (bytes): node:zlib's minimum, without a declared size, and at most. */
const MIN_OUTPUT_STEP = 64;
const DEFAULT_OUTPUT_STEP = 64 * 1024;
const MAX_OUTPUT_STEP = 8 * 1024 * 1024;

/**
 * The decompressed size a zstd frame declares in its header (Frame_Content_Size, RFC 8878 section
 * 3.1.1.1), or undefined when it declares none or `frame` is not a zstd frame.
 */
export function zstdContentSize(frame: Uint8Array): number | undefined {
  if (frame.length < 6 || !isZstdFrame(frame)) return undefined;
  const descriptor = frame[4]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 3]!;
  const fcsBytes = fcsFlag === 0 ? singleSegment : [1, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return undefined;
  const at = 5 + (singleSegment ? 0 : 1) + dictionaryIdBytes;
  if (frame.length < at + fcsBytes) return undefined;
  let value = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) value = value * 256 + frame[at + i]!;
  return fcsBytes === 2 ? value + 256 : value;
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
  // Output in one buffer of the size the frame header declares: node:zlib's default 16 KiB steps, then
  // a concatenation, made decoding a 60 KB frame 1.5x slower (75 against 48 us).
  const size = zstdContentSize(data);
  const chunkSize = Math.min(Math.max(size ?? DEFAULT_OUTPUT_STEP, MIN_OUTPUT_STEP), MAX_OUTPUT_STEP, Math.max(maxBytes, MIN_OUTPUT_STEP));
  try {
    return zstdDecompressSync(data, { maxOutputLength: maxBytes, chunkSize });
  } catch (err) {
    throw new IntegrityError("zstd frame does not decompress", {}, { cause: err });
  }
}

/**
 * Bodies below this many bytes are stored raw by `packBody`. A zstd call in Node builds and frees
 * a native context each time (about 25 µs, and external memory that makes V8 collect): reading the
 * 3,000 small objects of a 1,000-snapshot repository (manifests, annotations, index files) spent
 * more time there than in decryption and parsing together, while zstd saved a few hundred bytes per
 * object. Measured in docs/benchmarks.md ("prune").
 */
export const RAW_BODY_BELOW = 16 * 1024;

/**
 * The stored form of a metadata body (an index file's body, an encrypted JSON object): a zstd frame
 * from `RAW_BODY_BELOW` bytes on, the body itself below that. A raw body must not start with the zstd
 * magic (no JSON text nor index body does; one that did would be compressed). docs/format.md, "Objects".
 */
export function packBody(body: Uint8Array): Uint8Array {
  return body.length < RAW_BODY_BELOW && !isZstdFrame(body) ? body : compress(body);
}

/**
 * Reverses `packBody`: decompresses a zstd frame, returns anything else as it is.
 * @param maxBytes upper bound on a decompressed body (bytes).
 * @throws IntegrityError when a zstd frame does not decompress or exceeds `maxBytes`.
 */
export function unpackBody(stored: Uint8Array, maxBytes?: number): Uint8Array {
  return isZstdFrame(stored) ? decompress(stored, maxBytes) : stored;
}
