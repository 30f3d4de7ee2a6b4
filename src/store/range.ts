/**
 * Byte-range rules shared by the adapters (`ObjectStore.get`).
 *
 * A range is clipped to the object like POSIX pread(2): a range that runs past
 * the end returns the bytes up to the end, one that starts at or past the end
 * returns an empty array. Callers compare the length they got.
 */
import type { ByteRange } from "./types.js";

/**
 * Checks that `range.offset` and `range.length` are non-negative safe integers.
 * @throws RangeError naming the key otherwise (a programming error, not user input).
 */
export function assertValidRange(key: string, range: ByteRange): void {
  const ok = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
  if (!ok(range.offset) || !ok(range.length)) {
    throw new RangeError(
      `invalid byte range for "${key}": offset ${range.offset}, length ${range.length} (expected non-negative integers)`,
    );
  }
}

/** The half-open `[start, end)` byte interval of `range` clipped to an object of `size` bytes. */
export function clipRange(size: number, range: ByteRange): { start: number; end: number } {
  const start = Math.min(range.offset, size);
  const end = Math.min(range.offset + range.length, size);
  return { start, end };
}
