/**
 * Small byte helpers shared by the binary codecs (pack, index): little-endian
 * u32 access, concatenation, equality, and a bounds-checked reader that throws
 * IntegrityError (the codecs read untrusted, if authenticated, bytes).
 */
import { IntegrityError } from "./errors.js";

/** Largest value a u32 field can hold. */
export const U32_MAX = 0xffff_ffff;

/** Reads the little-endian u32 at `off` (caller checks bounds). */
export function getU32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

/** Writes `value` (an integer in [0, 2^32)) as a little-endian u32 at `off`. */
export function putU32(buf: Uint8Array, off: number, value: number): void {
  buf[off] = value & 0xff;
  buf[off + 1] = (value >>> 8) & 0xff;
  buf[off + 2] = (value >>> 16) & 0xff;
  buf[off + 3] = (value >>> 24) & 0xff;
}

/**
 * `buf` when it holds `need` bytes, else a new array of at least twice its length holding a copy of
 * its first `used` bytes (amortised doubling for buffers filled as they go).
 */
export function growBytes(buf: Uint8Array, need: number, used: number): Uint8Array {
  if (need <= buf.length) return buf;
  const next = new Uint8Array(Math.max(need, 2 * buf.length));
  next.set(buf.subarray(0, used), 0);
  return next;
}

/**
 * Frees the memory behind `view` now rather than whenever V8 collects its wrapper: detaches its
 * ArrayBuffer with `ArrayBuffer.prototype.transfer(0)` (ES2024), which releases the backing store at
 * once. Threads that make a buffer per frame (zstd output, cipher output) otherwise pile up tens of
 * MB of dead native memory between collections. Every view of that memory is empty afterwards, so
 * call it only on memory nothing else holds. ArrayBuffers of Node's Buffer pool size or less are
 * left alone: small Buffers share pooled ArrayBuffers of that size.
 */
export function freeNow(view: Uint8Array): void {
  const memory = view.buffer;
  if (memory instanceof ArrayBuffer && memory.byteLength > Buffer.poolSize && !memory.detached) memory.transfer(0);
}

/** Concatenates `parts` into one new array (one allocation, one copy per part). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** True when `a` and `b` hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Sequential reader over a byte array. Every read checks bounds and throws
 * IntegrityError naming `what` (e.g. "pack header") and the field being read.
 */
export class ByteReader {
  /** Current offset in bytes. */
  pos = 0;
  readonly buf: Uint8Array;
  readonly what: string;
  /** @param buf bytes to read (a Node Buffer is viewed as a plain Uint8Array, no copy). @param what names the object in errors. */
  constructor(buf: Uint8Array, what: string) {
    this.buf = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    this.what = what;
  }

  /** Bytes left after `pos`. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.buf.length - this.pos < n) {
      throw new IntegrityError(`${this.what}: truncated while reading ${field} (need ${n} bytes at offset ${this.pos}, have ${this.buf.length - this.pos})`, {
        object: this.what,
        field,
      });
    }
  }

  /** One byte; `field` names it in errors. */
  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  /** A little-endian u32; `field` names it in errors. */
  u32(field: string): number {
    this.need(4, field);
    const v = getU32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  /** `n` bytes as a subarray (aliases `buf`). */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** `n` bytes as a new array (a copy that outlives `buf`). */
  copy(n: number, field: string): Uint8Array {
    return this.bytes(n, field).slice();
  }

  /** Throws IntegrityError unless every byte has been read. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new IntegrityError(`${this.what}: ${this.buf.length - this.pos} unexpected trailing bytes at offset ${this.pos}`, { object: this.what });
    }
  }
}
