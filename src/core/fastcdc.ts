/**
 * FastCDC content-defined chunking.
 *
 * Algorithm: W. Xia et al., "FastCDC: a Fast and Efficient Content-Defined
 * Chunking Approach for Data Deduplication", USENIX ATC 2016 (Algorithm 1):
 * - gear rolling hash `fp = (fp << 1) + Gear[byte]`, here on 32 bits, so a
 *   hash bit at position k depends on the last k+1 bytes (window 32 bytes);
 * - cut-point skipping: hashing starts at `minSize` from the chunk start;
 * - normalized chunking, level 2: before `avgSize` a cut needs
 *   log2(avg)+2 zero bits (`maskS`, harder), after it log2(avg)-2 (`maskL`,
 *   easier), which narrows the size distribution around `avgSize`;
 * - masks with their one bits spread out (zero padding between ones, as in the
 *   paper's §3.2 masks) and placed at the top of the word so that every bit
 *   tested depends on a long stretch of the window.
 *
 * The gear table is derived from a secret seed (`makeGearTable`), so chunk
 * boundaries, and thus the chunk sizes the storage provider can observe, do
 * not let someone who knows a file's contents recognise it in the repository
 * (with a public table the size sequence is a fingerprint of the content;
 * Borg keys its buzhash table for the same reason).
 *
 * A cut position is the offset just after the byte on which the hash matched
 * the mask (the chunk includes that byte).
 */
import { hmac } from "./crypto.js";

/** Chunk size bounds in bytes; `avgSize` must be a power of two, `minSize < avgSize < maxSize`. */
export interface CdcParams {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
}

/** Preset for file data: 256 KiB / 1 MiB / 4 MiB. */
export const CDC_DATA: CdcParams = Object.freeze({ minSize: 256 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 });

/** Preset for metadata listings (trees): 16 KiB / 64 KiB / 256 KiB. */
export const CDC_META: CdcParams = Object.freeze({ minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 });

const GEAR_INFO = new TextEncoder().encode("restorable/v1/fastcdc-gear");

/**
 * Derives the 256-entry gear table from a 32-byte secret seed:
 * block i (i = 0..31) = HMAC-SHA-256(seed, "restorable/v1/fastcdc-gear" || u8(i)),
 * read as eight little-endian u32 entries. Deterministic: same seed, same table.
 * @throws RangeError when `seed` is not 32 bytes (a programming error).
 */
export function makeGearTable(seed: Uint8Array): Uint32Array {
  if (seed.length !== 32) throw new RangeError(`gear seed must be 32 bytes, got ${seed.length}`);
  const table = new Uint32Array(256);
  const msg = new Uint8Array(GEAR_INFO.length + 1);
  msg.set(GEAR_INFO, 0);
  for (let block = 0; block < 32; block++) {
    msg[GEAR_INFO.length] = block;
    const mac = hmac(seed, msg);
    for (let j = 0; j < 8; j++) {
      const o = j * 4;
      table[block * 8 + j] = (mac[o]! | (mac[o + 1]! << 8) | (mac[o + 2]! << 16) | (mac[o + 3]! << 24)) >>> 0;
    }
  }
  return table;
}

/**
 * A 32-bit mask with `ones` one bits spread evenly over the top `min(32, 2*ones)`
 * bit positions, highest bit always set (about one zero between ones, like
 * the paper's masks, e.g. 0x0000d93003530000 for 15 bits of a 64-bit hash).
 * @throws RangeError when `ones` is outside [1, 32].
 */
export function spreadMask(ones: number): number {
  if (!Number.isInteger(ones) || ones < 1 || ones > 32) throw new RangeError(`mask bit count must be in [1, 32], got ${ones}`);
  const span = Math.min(32, 2 * ones);
  let mask = 0;
  for (let k = 0; k < ones; k++) mask |= 1 << (31 - Math.floor((k * span) / ones));
  return mask >>> 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Hash value left by the last `gearScan` that found no cut (one slot; JS runs one scan at a time per isolate). */
const scanState = new Int32Array(1);

/**
 * Runs the gear hash over `buf[from, to)` starting from hash value `fp` and
 * returns the offset just after the first byte where `(fp & mask) === 0`, or
 * -1 (then `scanState[0]` holds the hash, to continue with another mask).
 * Reads aligned 32-bit words on little-endian hosts (about twice as fast in
 * V8 as byte loads: one bounds check per four bytes).
 */
function gearScan(buf: Uint8Array, from: number, to: number, gear: Int32Array, mask: number, fp: number): number {
  let i = from;
  if (LITTLE_ENDIAN) {
    const base = buf.byteOffset;
    while (i < to && ((base + i) & 3) !== 0) {
      fp = ((fp << 1) + gear[buf[i]!]!) | 0;
      i++;
      if ((fp & mask) === 0) return i;
    }
    const nw = (to - i) >>> 2;
    if (nw > 0) {
      const words = new Uint32Array(buf.buffer, base + i, nw);
      for (let j = 0; j < nw; j++) {
        const w = words[j]!;
        fp = ((fp << 1) + gear[w & 255]!) | 0;
        if ((fp & mask) === 0) return i + 4 * j + 1;
        fp = ((fp << 1) + gear[(w >>> 8) & 255]!) | 0;
        if ((fp & mask) === 0) return i + 4 * j + 2;
        fp = ((fp << 1) + gear[(w >>> 16) & 255]!) | 0;
        if ((fp & mask) === 0) return i + 4 * j + 3;
        fp = ((fp << 1) + gear[w >>> 24]!) | 0;
        if ((fp & mask) === 0) return i + 4 * j + 4;
      }
      i += 4 * nw;
    }
  }
  while (i < to) {
    fp = ((fp << 1) + gear[buf[i]!]!) | 0;
    i++;
    if ((fp & mask) === 0) return i;
  }
  scanState[0] = fp;
  return -1;
}

function validateParams(p: CdcParams): number {
  const { minSize, avgSize, maxSize } = p;
  for (const [name, v] of [
    ["minSize", minSize],
    ["avgSize", avgSize],
    ["maxSize", maxSize],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`CdcParams.${name} must be a positive integer, got ${v}`);
  }
  const bits = Math.log2(avgSize);
  if (!Number.isInteger(bits) || bits < 3 || bits > 30) throw new RangeError(`CdcParams.avgSize must be a power of two in [8, 2^30], got ${avgSize}`);
  if (!(minSize < avgSize && avgSize < maxSize)) {
    throw new RangeError(`CdcParams must satisfy minSize < avgSize < maxSize, got ${minSize} / ${avgSize} / ${maxSize}`);
  }
  return bits;
}

/**
 * FastCDC chunker, one-shot (`findCut`) or streaming (`push`/`finish`).
 *
 * Aliasing: chunks returned by `push` are either subarrays of the `data`
 * argument of that same call (valid until the caller overwrites that buffer)
 * or freshly allocated copies (when a chunk spans calls). Chunks returned by
 * `finish` are subarrays of the chunker's internal buffer, valid until the
 * next `push` (the buffer, up to 2 x maxSize, serves the next stream: one
 * per file made 8 MiB of garbage per large file of a snapshot). Consume
 * chunks before reusing the buffer passed to `push`.
 * The chunker itself never keeps a reference to `data` after `push` returns.
 */
export class CdcChunker {
  readonly params: CdcParams;
  /** Mask used before `avgSize` (log2(avg)+2 bits). */
  readonly maskS: number;
  /** Mask used after `avgSize` (log2(avg)-2 bits). */
  readonly maskL: number;
  private readonly gear: Int32Array;
  /** Bytes carried over between `push` calls (always < maxSize after a call). */
  private pend: Uint8Array | undefined;
  private pendLen = 0;

  /**
   * @param params chunk size bounds (bytes).
   * @param gear 256-entry table from `makeGearTable`.
   * @throws RangeError on invalid params or a gear table that is not 256 entries.
   */
  constructor(params: CdcParams, gear: Uint32Array) {
    const bits = validateParams(params);
    if (gear.length !== 256) throw new RangeError(`gear table must have 256 entries, got ${gear.length}`);
    this.params = { minSize: params.minSize, avgSize: params.avgSize, maxSize: params.maxSize };
    this.maskS = spreadMask(bits + 2);
    this.maskL = spreadMask(bits - 2);
    // An Int32Array copy keeps the hot loop in int32 arithmetic.
    this.gear = new Int32Array(gear);
  }

  /**
   * Finds the end of the chunk that starts at `start` in `buf[start, end)`.
   * Treats `end` as the end of the stream: if no cut point is found the chunk
   * ends at `min(end, start + maxSize)`.
   * @returns an absolute offset in `buf`, in `(start + minSize, start + maxSize]`,
   *   or `end` when `end - start <= minSize`.
   * @throws RangeError when `0 <= start <= end <= buf.length` does not hold.
   */
  findCut(buf: Uint8Array, start: number, end: number): number {
    if (!(start >= 0 && start <= end && end <= buf.length)) {
      throw new RangeError(`findCut: need 0 <= start <= end <= ${buf.length}, got start=${start} end=${end}`);
    }
    const { minSize, avgSize, maxSize } = this.params;
    const n = end - start;
    if (n <= minSize) return end;
    const limit = n > maxSize ? start + maxSize : end;
    let normal = start + avgSize;
    if (normal > limit) normal = limit;
    const gear = this.gear;
    // Cut-point skipping: the hash starts from 0 at start + minSize.
    let cut = gearScan(buf, start + minSize, normal, gear, this.maskS | 0, 0);
    if (cut >= 0) return cut;
    cut = gearScan(buf, normal, limit, gear, this.maskL | 0, scanState[0]!);
    return cut >= 0 ? cut : limit;
  }

  /**
   * Feeds the next `data` of the stream (any size, e.g. 8 MiB reads).
   * @returns the chunks completed so far, in order (see the class note on aliasing).
   */
  push(data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    const max = this.params.maxSize;
    let off = 0;
    if (this.pendLen > 0) {
      // Chunks that start in the carried bytes: append to them only as many
      // new bytes as a definitive cut needs (maxSize past the chunk start).
      const carried = this.pendLen;
      let total = carried;
      let used = 0;
      let pend = this.pend!;
      let s = 0;
      while (s < carried) {
        const want = s + max - total;
        if (want > 0) {
          const add = Math.min(want, data.length - used);
          pend = this.ensurePend(total + add);
          pend.set(data.subarray(used, used + add), total);
          total += add;
          used += add;
          this.pendLen = total;
          if (total - s < max) break; // `data` is used up: wait for more
        }
        const e = this.findCut(pend, s, total);
        out.push(pend.slice(s, e));
        s = e;
      }
      if (s < carried) {
        pend.copyWithin(0, s, total);
        this.pendLen = total - s;
        return out;
      }
      off = s - carried;
      this.pendLen = 0;
    }
    const len = data.length;
    while (len - off >= max) {
      const e = this.findCut(data, off, len);
      out.push(data.subarray(off, e));
      off = e;
    }
    if (off < len) {
      const rest = len - off;
      this.ensurePend(rest).set(data.subarray(off), 0);
      this.pendLen = rest;
    }
    return out;
  }

  /** Ends the stream: returns the remaining chunks (possibly none) and resets the chunker. */
  finish(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const pend = this.pend;
    const len = this.pendLen;
    if (pend && len > 0) {
      let s = 0;
      while (s < len) {
        const e = this.findCut(pend, s, len);
        out.push(pend.subarray(s, e));
        s = e;
      }
    }
    this.pendLen = 0;
    return out;
  }

  private ensurePend(size: number): Uint8Array {
    if (!this.pend || this.pend.length < size) {
      // Grow by doubling up to 2 x maxSize, never more than needed for a small file's tail.
      const next = new Uint8Array(Math.max(size, Math.min(2 * this.params.maxSize, 2 * (this.pend?.length ?? size / 2))));
      if (this.pend && this.pendLen > 0) next.set(this.pend.subarray(0, this.pendLen), 0);
      this.pend = next;
    }
    return this.pend;
  }
}
