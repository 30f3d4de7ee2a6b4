/**
 * `ChunkIndex`: the in-memory map chunk id -> location in a pack, sized for
 * 1-10 million entries without one JS object per entry:
 * - ids in one growing Uint8Array (32 bytes each), compared as eight int32 words;
 * - numeric fields in parallel typed arrays (Uint32Array / Uint8Array);
 * - pack ids interned: an array of 32-byte ids plus a Map from hex to number;
 * - an open-addressing hash table (Int32Array of entry number + 1 and a 6-bit
 *   tag, 0 = empty, linear probing, doubled when the load would exceed 0.7) keyed by the
 *   first 4 bytes of the id through a Fibonacci multiplicative hash (Knuth,
 *   TAOCP vol. 3 §6.4), so non-uniform ids (tests, damaged input) still spread.
 * Chunk ids are HMAC-SHA-256 outputs, hence uniform; 4 bytes of key are enough.
 */
import { bytesEqual } from "./bytes.js";
import { toHex } from "./crypto.js";
import type { ChunkKind, PackEntry } from "./pack.js";

/** Where a chunk is stored. Offsets and lengths in bytes, as in `PackEntry`. */
export interface ChunkLocation {
  /** 32-byte pack id (shared by every chunk of the pack: do not mutate). */
  packId: Uint8Array;
  kind: ChunkKind;
  frameOffset: number;
  frameLength: number;
  innerOffset: number;
  length: number;
}

/** The numeric fields of a location (a `PackEntry` without its id). */
export type ChunkFields = Pick<PackEntry, "kind" | "frameOffset" | "frameLength" | "innerOffset" | "length">;

const MAX_LOAD = 0.7;
/**
 * A table slot holds `(entry + 1) << TAG_BITS | tag`, tag = 6 bits of id byte 4
 * (independent of the slot, which comes from bytes 0-3): a probe that meets
 * another id is rejected 63 times in 64 without touching the id array.
 */
const TAG_BITS = 6;
const TAG_MASK = (1 << TAG_BITS) - 1;
/** Entries a slot can address (2^25 - 1, about 33 million: values stay positive int32). */
export const MAX_ENTRIES = 2 ** (31 - TAG_BITS) - 1;
const MIN_CAPACITY = 1024;
/** Estimated bytes per interned pack (id, Map entry, hex key string). */
const PACK_OVERHEAD_BYTES = 200;

function checkPackId(packId: Uint8Array): void {
  if (packId.length !== 32) throw new RangeError(`ChunkIndex: pack id must be 32 bytes, got ${packId.length}`);
}

function isU32(x: number): boolean {
  return Number.isInteger(x) && x >= 0 && x <= 0xffff_ffff;
}

/** Chunk id -> location map; duplicate ids keep their first location. */
export class ChunkIndex {
  private n = 0;
  private cap = 0;
  private ids = new Uint8Array(0);
  private idWords = new Int32Array(0);
  private packOf = new Uint32Array(0);
  private kinds = new Uint8Array(0);
  private frameOffsets = new Uint32Array(0);
  private frameLengths = new Uint32Array(0);
  private innerOffsets = new Uint32Array(0);
  private lengths = new Uint32Array(0);
  private table: Int32Array;
  private tableBits: number;
  private readonly packs: Uint8Array[] = [];
  private readonly packNumbers = new Map<string, number>();
  private lastPack = 0;
  /** Scratch copy of a queried id, read as words. */
  private readonly q = new Uint8Array(32);
  private readonly qWords = new Int32Array(this.q.buffer);

  /** @param expectedEntries pre-sizes the arrays and the table (avoids regrowth when known). */
  constructor(expectedEntries = 0) {
    this.grow(Math.max(MIN_CAPACITY, Math.ceil(expectedEntries)));
    this.tableBits = 1;
    while ((1 << this.tableBits) * MAX_LOAD < Math.max(this.cap, 1)) this.tableBits++;
    this.table = new Int32Array(1 << this.tableBits);
  }

  /** Number of distinct chunk ids. */
  get size(): number {
    return this.n;
  }

  /** Approximate memory held, in bytes (typed arrays at capacity, table, interned packs). */
  get bytesUsed(): number {
    return (
      this.ids.byteLength +
      this.packOf.byteLength +
      this.kinds.byteLength +
      this.frameOffsets.byteLength +
      this.frameLengths.byteLength +
      this.innerOffsets.byteLength +
      this.lengths.byteLength +
      this.table.byteLength +
      this.packs.length * PACK_OVERHEAD_BYTES
    );
  }

  /**
   * Records that chunk `id` is stored in pack `packId` at `fields`.
   * @returns false (and keeps the first location) when the id is already known.
   * @throws RangeError on an id or pack id that is not 32 bytes, a kind other than 0/1, or a field outside u32.
   */
  add(id: Uint8Array, packId: Uint8Array, fields: ChunkFields): boolean {
    checkPackId(packId);
    return this.addAt(id, packId, -1, fields) >= 0;
  }

  /**
   * Adds every entry of one pack (the pack id is interned once, and only if
   * at least one entry is new). @returns how many ids were new.
   */
  addPack(packId: Uint8Array, entries: Iterable<PackEntry>): number {
    checkPackId(packId);
    let p = -1;
    let added = 0;
    for (const e of entries) {
      const r = this.addAt(e.id, packId, p, e);
      if (r >= 0) {
        p = r;
        added++;
      }
    }
    return added;
  }

  /** True when `id` is known. */
  has(id: Uint8Array): boolean {
    return this.find(id) >= 0;
  }

  /** Location of `id`, or undefined. */
  get(id: Uint8Array): ChunkLocation | undefined {
    const e = this.find(id);
    return e < 0 ? undefined : this.locationAt(e);
  }

  /** Entry number of `id` (0 .. size-1, in insertion order), or -1 when unknown: for per-entry tables. */
  entryOf(id: Uint8Array): number {
    return this.find(id);
  }

  /** Pack number of entry `e` (an index into `packIds()`). @throws RangeError when `e` is not an entry. */
  packOfEntry(e: number): number {
    if (!Number.isInteger(e) || e < 0 || e >= this.n) throw new RangeError(`ChunkIndex: no entry ${e} (size ${this.n})`);
    return this.packOf[e]!;
  }

  /** Plaintext length (bytes) of entry `e`. @throws RangeError when `e` is not an entry. */
  lengthOfEntry(e: number): number {
    this.packOfEntry(e);
    return this.lengths[e]!;
  }

  /** Location of entry `e` (its `packId` is the index's own copy: do not modify). @throws RangeError when `e` is not an entry. */
  locationOfEntry(e: number): ChunkLocation {
    this.packOfEntry(e);
    return this.locationAt(e);
  }

  /** The id of entry `e` (a view into the index: copy what you keep). @throws RangeError when `e` is not an entry. */
  idOfEntry(e: number): Uint8Array {
    this.packOfEntry(e);
    return this.ids.subarray(e * 32, e * 32 + 32);
  }

  /** Distinct pack ids referenced, in first-seen order (copies). */
  packIds(): Uint8Array[] {
    return this.packs.map((p) => p.slice());
  }

  /** Every entry in insertion order; `id` is a copy. */
  *entries(): Generator<ChunkLocation & { id: Uint8Array }> {
    for (let e = 0; e < this.n; e++) yield { id: this.ids.slice(e * 32, e * 32 + 32), ...this.locationAt(e) };
  }

  private locationAt(e: number): ChunkLocation {
    return {
      packId: this.packs[this.packOf[e]!]!,
      kind: this.kinds[e] as ChunkKind,
      frameOffset: this.frameOffsets[e]!,
      frameLength: this.frameLengths[e]!,
      innerOffset: this.innerOffsets[e]!,
      length: this.lengths[e]!,
    };
  }

  private intern(packId: Uint8Array): number {
    // Fast path: callers usually add many chunks of the same pack in a row.
    const last = this.packs.length > 0 ? this.packs[this.lastPack]! : undefined;
    if (last && bytesEqual(last, packId)) return this.lastPack;
    const hex = toHex(packId);
    let p = this.packNumbers.get(hex);
    if (p === undefined) {
      p = this.packs.length;
      this.packs.push(packId.slice());
      this.packNumbers.set(hex, p);
    }
    this.lastPack = p;
    return p;
  }

  /** Table slot for the id whose first 4 bytes are `buf[off..off+4)`. */
  private slotAt(buf: Uint8Array, off: number): number {
    const key = buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24);
    return Math.imul(key, 0x9e3779b1) >>> (32 - this.tableBits);
  }

  /** Entry number of `id` or -1. */
  private find(id: Uint8Array): number {
    if (id.length !== 32) return -1;
    const q = this.qWords;
    this.q.set(id);
    const words = this.idWords;
    const table = this.table;
    const mask = table.length - 1;
    const tag = id[4]! & TAG_MASK;
    let slot = this.slotAt(id, 0);
    while (true) {
      const v = table[slot]!;
      if (v === 0) return -1;
      if ((v & TAG_MASK) === tag) {
        const e = (v >>> TAG_BITS) - 1;
        const b = e * 8;
        if (
          words[b] === q[0] &&
          words[b + 1] === q[1] &&
          words[b + 2] === q[2] &&
          words[b + 3] === q[3] &&
          words[b + 4] === q[4] &&
          words[b + 5] === q[5] &&
          words[b + 6] === q[6] &&
          words[b + 7] === q[7]
        ) {
          return e;
        }
      }
      slot = (slot + 1) & mask;
    }
  }

  /**
   * Adds one entry unless its id is known. `pack` is the interned number of
   * `packId`, or -1 to intern it now. @returns the pack number used, or -1 for a duplicate.
   */
  private addAt(id: Uint8Array, packId: Uint8Array, pack: number, f: ChunkFields): number {
    if (id.length !== 32) throw new RangeError(`ChunkIndex: chunk id must be 32 bytes, got ${id.length}`);
    if (f.kind !== 0 && f.kind !== 1) throw new RangeError(`ChunkIndex: kind must be 0 or 1, got ${String(f.kind)}`);
    if (!isU32(f.frameOffset) || !isU32(f.frameLength) || !isU32(f.innerOffset) || !isU32(f.length)) {
      throw new RangeError("ChunkIndex: frameOffset, frameLength, innerOffset and length must be integers in [0, 2^32)");
    }
    if (this.find(id) >= 0) return -1;
    if (pack < 0) pack = this.intern(packId);
    if (this.n >= MAX_ENTRIES) throw new RangeError(`ChunkIndex: more than ${MAX_ENTRIES} entries`);
    if (this.n === this.cap) this.grow(Math.min(MAX_ENTRIES, Math.ceil(this.cap * 1.5)));
    if ((this.n + 1) > this.table.length * MAX_LOAD) this.rehash(this.tableBits + 1);
    const e = this.n++;
    this.ids.set(id, e * 32);
    this.packOf[e] = pack;
    this.kinds[e] = f.kind;
    this.frameOffsets[e] = f.frameOffset;
    this.frameLengths[e] = f.frameLength;
    this.innerOffsets[e] = f.innerOffset;
    this.lengths[e] = f.length;
    this.insertSlot(e);
    return pack;
  }

  /** Puts entry `e` (already stored in `ids`) into the table. */
  private insertSlot(e: number): void {
    const table = this.table;
    const mask = table.length - 1;
    const ids = this.ids;
    let slot = this.slotAt(ids, e * 32);
    while (table[slot] !== 0) slot = (slot + 1) & mask;
    table[slot] = ((e + 1) << TAG_BITS) | (ids[e * 32 + 4]! & TAG_MASK);
  }

  private rehash(bits: number): void {
    this.tableBits = bits;
    this.table = new Int32Array(1 << bits);
    for (let e = 0; e < this.n; e++) this.insertSlot(e);
  }

  private grow(cap: number): void {
    const ids = new Uint8Array(cap * 32);
    ids.set(this.ids.subarray(0, this.n * 32));
    this.ids = ids;
    this.idWords = new Int32Array(ids.buffer);
    this.packOf = resize(this.packOf, cap, this.n);
    this.kinds = resize(this.kinds, cap, this.n);
    this.frameOffsets = resize(this.frameOffsets, cap, this.n);
    this.frameLengths = resize(this.frameLengths, cap, this.n);
    this.innerOffsets = resize(this.innerOffsets, cap, this.n);
    this.lengths = resize(this.lengths, cap, this.n);
    this.cap = cap;
  }
}

function resize<T extends Uint32Array | Uint8Array>(a: T, cap: number, n: number): T {
  const next = new (a.constructor as new (len: number) => T)(cap);
  next.set(a.subarray(0, n));
  return next;
}
