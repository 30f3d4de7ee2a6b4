import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { putU32 } from "../../src/core/bytes.js";
import { compress } from "../../src/core/compress.js";
import { seal, toHex } from "../../src/core/crypto.js";
import { IntegrityError } from "../../src/core/errors.js";
import { ChunkIndex, decodeIndexFile, encodeIndexFile, type IndexFileContents } from "../../src/core/index-codec.js";
import type { PackEntry } from "../../src/core/pack.js";

const key = new Uint8Array(32).fill(5);
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

function entry(i: number): PackEntry {
  return { id: rnd(32), kind: (i % 2) as 0 | 1, frameOffset: i * 1000, frameLength: 29 + i, innerOffset: i * 3, length: 0xffff_ffff - i };
}

function sample(): IndexFileContents {
  return {
    packs: [
      { packId: rnd(32), entries: Array.from({ length: 50 }, (_, i) => entry(i)) },
      { packId: rnd(32), entries: [] },
      { packId: rnd(32), entries: Array.from({ length: 7 }, (_, i) => entry(i + 100)) },
    ],
    supersedes: ["a".repeat(64), "20261122T024436Z-1a2b3c4d", "x".repeat(255)],
  };
}

/** Builds a body by hand: fields as given, for malformed-input tests. */
function rawFile(parts: (Uint8Array | number | string)[]): Uint8Array {
  const bufs = parts.map((p) => {
    if (typeof p === "string") return new TextEncoder().encode(p);
    if (typeof p === "number") {
      const b = new Uint8Array(4);
      putU32(b, 0, p);
      return b;
    }
    return p;
  });
  return seal(key, compress(Buffer.concat(bufs)));
}

function rawEntry(kind: number, packIndex: number, frameLength = 100): Uint8Array {
  const e = new Uint8Array(57);
  e.fill(3, 0, 32);
  e[32] = kind;
  putU32(e, 33, packIndex);
  putU32(e, 41, frameLength);
  return e;
}

describe("index files", () => {
  it("round-trip packs, entries (in order) and supersedes", () => {
    const c = sample();
    const bytes = encodeIndexFile(key, c);
    expect(decodeIndexFile(key, bytes)).toEqual(c);
    const empty = { packs: [], supersedes: [] };
    expect(decodeIndexFile(key, encodeIndexFile(key, empty))).toEqual(empty);
  });

  it("compresses (entries are 57 bytes, the file is sealed zstd)", () => {
    const c = { packs: [{ packId: rnd(32), entries: Array.from({ length: 1000 }, () => ({ ...entry(1), id: rnd(32) })) }], supersedes: [] };
    const bytes = encodeIndexFile(key, c);
    expect(bytes.length).toBeLessThan(57 * 1000);
  });

  it("wrong key, flipped bit, truncation -> IntegrityError naming the file", () => {
    const bytes = encodeIndexFile(key, sample());
    expect(() => decodeIndexFile(new Uint8Array(32), bytes, "index/abc")).toThrow(/^index\/abc: authentication failed/);
    for (const pos of [0, 20, bytes.length >> 1, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[pos]! ^= 0x80;
      expect(() => decodeIndexFile(key, bad)).toThrow(IntegrityError);
    }
    expect(() => decodeIndexFile(key, bytes.subarray(0, bytes.length - 1))).toThrow(IntegrityError);
    expect(() => decodeIndexFile(key, bytes.subarray(0, 10))).toThrow(IntegrityError);
  });

  it("inconsistent bodies -> IntegrityError saying what is wrong", () => {
    const p = rnd(32);
    const cases: [(Uint8Array | number | string)[], RegExp][] = [
      [["RSTIDX02", 0, 0, 0], /bad magic/],
      [["RSTIDX01", 2, p], /packCount 2 exceeds/],
      [["RSTIDX01", 2, p, p, 0, 0], /listed twice/],
      [["RSTIDX01", 1, p, 1, rawEntry(0, 1), 0], /pack index 1, but the file lists 1 packs/],
      [["RSTIDX01", 1, p, 1, rawEntry(3, 0), 0], /kind 3/],
      [["RSTIDX01", 1, p, 1, rawEntry(0, 0, 5), 0], /frameLength 5 is below/],
      [["RSTIDX01", 1, p, 2, rawEntry(0, 0), 0], /entryCount 2 exceeds/],
      [["RSTIDX01", 1, p, 0, 1, new Uint8Array([3]), "ab"], /truncated while reading supersedes 0 name/],
      [["RSTIDX01", 1, p, 0, 1, new Uint8Array([3]), "a b"], /not a valid index file name/],
      [["RSTIDX01", 1, p, 0, 0, "x"], /1 unexpected trailing bytes/],
      [["RSTIDX01", 1, p, 0], /truncated while reading supersedesCount/],
    ];
    for (const [parts, re] of cases) {
      const f = (): unknown => decodeIndexFile(key, rawFile(parts));
      expect(f).toThrow(IntegrityError);
      expect(f).toThrow(re);
    }
  });

  it("encode rejects malformed input", () => {
    const c = sample();
    expect(() => encodeIndexFile(key, { packs: [c.packs[0]!, c.packs[0]!], supersedes: [] })).toThrow(/listed twice/);
    expect(() => encodeIndexFile(key, { packs: [], supersedes: ["has/slash"] })).toThrow(/supersedes\[0\]/);
    expect(() => encodeIndexFile(key, { packs: [{ packId: rnd(32), entries: [{ ...entry(0), length: -1 }] }], supersedes: [] })).toThrow(/length must be a u32/);
  });
});

describe("ChunkIndex", () => {
  it("numbers entries in insertion order and tells each entry's pack", () => {
    const idx = new ChunkIndex();
    const packs = [randomBytes(32), randomBytes(32)];
    const ids = Array.from({ length: 5 }, () => new Uint8Array(randomBytes(32)));
    const f = { kind: 0 as const, frameOffset: 0, frameLength: 100, innerOffset: 0, length: 10 };
    ids.forEach((id, i) => idx.add(id, packs[i % 2]!, f));
    idx.add(ids[0]!, packs[1]!, f); // a duplicate keeps its first entry and pack
    expect(ids.map((id) => idx.entryOf(id))).toEqual([0, 1, 2, 3, 4]);
    expect(ids.map((_, e) => idx.packOfEntry(e))).toEqual([0, 1, 0, 1, 0]);
    expect(idx.packIds().map(toHex)).toEqual(packs.map(toHex));
    expect(idx.entryOf(new Uint8Array(32))).toBe(-1);
    expect(() => idx.packOfEntry(5)).toThrow(RangeError);
  });

  it("add / has / get, duplicates keep the first location, packs are interned", () => {
    const idx = new ChunkIndex();
    const p1 = rnd(32);
    const p2 = rnd(32);
    const id = rnd(32);
    const f = { kind: 1 as const, frameOffset: 10, frameLength: 40, innerOffset: 3, length: 7 };
    expect(idx.add(id, p1, f)).toBe(true);
    expect(idx.add(id.slice(), p2, { ...f, frameOffset: 99 })).toBe(false);
    expect(idx.size).toBe(1);
    expect(idx.has(id)).toBe(true);
    expect(idx.get(id)).toEqual({ packId: p1, ...f });
    expect(idx.get(rnd(32))).toBeUndefined();
    expect(idx.has(new Uint8Array(31))).toBe(false);
    const added = idx.addPack(p1, [entry(1), entry(2), { ...entry(3), id }]);
    expect(added).toBe(2);
    expect(idx.packIds().map(toHex)).toEqual([toHex(p1), toHex(p2)].slice(0, 1));
    idx.add(rnd(32), p2, f);
    expect(idx.packIds().map(toHex)).toEqual([toHex(p1), toHex(p2)]);
    const all = [...idx.entries()];
    expect(all.length).toBe(4);
    expect(toHex(all[0]!.id)).toBe(toHex(id));
    expect(() => idx.add(rnd(32), p1, { ...f, kind: 2 as 0 })).toThrow(RangeError);
    expect(() => idx.add(rnd(32), rnd(31), f)).toThrow(RangeError);
    expect(() => idx.add(rnd(32), p1, { ...f, length: 2 ** 32 })).toThrow(RangeError);
  });

  it("works with ids that are not uniform (shared leading bytes)", () => {
    const idx = new ChunkIndex();
    const p = rnd(32);
    const ids: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      const id = new Uint8Array(32);
      id[0] = i & 0xff; // only 12 bits vary, spread over bytes 0 and 31
      id[31] = i >> 8;
      ids.push(id);
      expect(idx.add(id, p, { kind: 0, frameOffset: i, frameLength: 29, innerOffset: 0, length: 1 })).toBe(true);
    }
    ids.forEach((id, i) => expect(idx.get(id)?.frameOffset).toBe(i));
    const absent = new Uint8Array(32);
    absent[0] = 1;
    absent[31] = 200;
    expect(idx.has(absent)).toBe(false);
  });

  it("1,000,000 random ids: all found, absent ids not found; reports memory and build time", () => {
    const N = 1_000_000;
    const ids = new Uint8Array(randomBytes(N * 32));
    const packs = Array.from({ length: 64 }, () => rnd(32));
    const t0 = performance.now();
    const idx = new ChunkIndex();
    for (let i = 0; i < N; i++) {
      idx.add(ids.subarray(i * 32, i * 32 + 32), packs[i & 63]!, { kind: (i & 1) as 0 | 1, frameOffset: i, frameLength: 29 + (i & 1023), innerOffset: i >>> 3, length: i * 7 });
    }
    const buildMs = performance.now() - t0;
    expect(idx.size).toBe(N);
    const t1 = performance.now();
    for (let i = 0; i < N; i++) {
      const id = ids.subarray(i * 32, i * 32 + 32);
      const loc = idx.get(id);
      if (!loc || loc.frameOffset !== i || loc.length !== i * 7 || loc.kind !== (i & 1) || loc.packId !== idx.get(id)!.packId) {
        throw new Error(`entry ${i} not found or wrong: ${JSON.stringify(loc)}`);
      }
      if (toHexFast(loc.packId) !== toHexFast(packs[i & 63]!)) throw new Error(`entry ${i}: wrong pack`);
    }
    const lookupMs = performance.now() - t1;
    const absent = new Uint8Array(randomBytes(100_000 * 32));
    let falsePositives = 0;
    for (let i = 0; i < 100_000; i++) if (idx.has(absent.subarray(i * 32, i * 32 + 32))) falsePositives++;
    expect(falsePositives).toBe(0);
    // A near-miss (same first 4 bytes, different tail) is not found either.
    const near = ids.slice(0, 32);
    near[31]! ^= 1;
    expect(idx.has(near)).toBe(false);
    expect(idx.packIds().length).toBe(64);
    const perEntry = idx.bytesUsed / N;
    expect(perEntry).toBeLessThan(100);
    console.log(
      `ChunkIndex 1M: build ${buildMs.toFixed(0)} ms, ${N} lookups ${lookupMs.toFixed(0)} ms, bytesUsed ${(idx.bytesUsed / 2 ** 20).toFixed(1)} MiB = ${perEntry.toFixed(1)} B/entry`,
    );
    const pre = new ChunkIndex(N);
    for (let i = 0; i < N; i++) pre.add(ids.subarray(i * 32, i * 32 + 32), packs[0]!, { kind: 0, frameOffset: 0, frameLength: 29, innerOffset: 0, length: 0 });
    console.log(`ChunkIndex 1M pre-sized: bytesUsed ${(pre.bytesUsed / N).toFixed(1)} B/entry`);
    expect(pre.bytesUsed / N).toBeLessThan(perEntry + 1);
  });
});

function toHexFast(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
}
