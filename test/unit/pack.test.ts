import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { putU32 } from "../../src/core/bytes.js";
import { open, seal, sha256 } from "../../src/core/crypto.js";
import { IntegrityError } from "../../src/core/errors.js";
import {
  PackBuilder,
  PackEntryTable,
  encodeFrame,
  chunkFromFrame,
  decodeFrame,
  decodePack,
  decodePackHeader,
  readPackChunks,
  readPackHeaderLength,
  type PackEntry,
} from "../../src/core/pack.js";

const key = new Uint8Array(32).fill(9);
const otherKey = new Uint8Array(32).fill(8);
const idOf = (b: Uint8Array): Uint8Array => new Uint8Array(createHash("sha256").update(b).digest());

function textLike(n: number, seed: number): Uint8Array {
  const words = ["alpha", "beta", "gamma", "select", "insert", "user", "email", "2026-11-22", "null", "row", "page", "index"];
  let s = "";
  let x = seed;
  while (s.length < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += words[x % words.length] + (x & 1 ? " " : ",");
  }
  return new TextEncoder().encode(s.slice(0, n));
}

interface Item {
  id: Uint8Array;
  kind: 0 | 1;
  data: Uint8Array;
}

function makeItems(): Item[] {
  const items: Item[] = [];
  const sizes = [0, 1, 17, 4096, 100, 0, 65535, 65536, 70000, 300000, 12, 5000, 1 << 20, 33, 0];
  for (let i = 0; i < 200; i++) sizes.push((i * 7919) % 9000);
  sizes.forEach((n, i) => {
    const data = i % 3 === 0 ? new Uint8Array(randomBytes(n)) : textLike(n, i);
    // Make every chunk distinct (ids are content hashes here).
    if (n > 0) data[0] = i & 0xff;
    items.push({ id: idOf(new Uint8Array([...data.subarray(0, 64), i & 255, i >> 8])), kind: (i % 2) as 0 | 1, data });
  });
  return items;
}

function build(items: Item[], frameTarget?: number): { bytes: Uint8Array; packId: Uint8Array; entries: PackEntry[] } {
  const b = new PackBuilder({ encKey: key, ...(frameTarget ? { frameTarget } : {}) });
  for (const it of items) {
    // Pass a copy and wipe it after add: the builder must not keep a reference.
    const copy = it.data.slice();
    b.add(it.id, it.kind, copy);
    copy.fill(0xee);
  }
  expect(b.count).toBe(items.length);
  const p = b.finish();
  expect(p.entries.length).toBe(items.length);
  return { ...p, entries: p.entries.toArray() };
}

function frames(entries: readonly PackEntry[]): [number, number][] {
  const m = new Map<number, number>();
  for (const e of entries) m.set(e.frameOffset, e.frameLength);
  return [...m].sort((a, b) => a[0] - b[0]);
}

function expectIntegrity(fn: () => unknown): void {
  expect(fn).toThrow(IntegrityError);
}

function readAll(k: Uint8Array, bytes: Uint8Array): Uint8Array[] {
  return [...readPackChunks(k, bytes)].map((c) => c.plaintext);
}

describe("PackBuilder / decodePack round trip", () => {
  const items = makeItems();
  const pack = build(items);

  it("pack id is SHA-256 of the bytes, entries decode to what was added", () => {
    expect(Buffer.from(pack.packId).equals(Buffer.from(sha256(pack.bytes)))).toBe(true);
    const entries = decodePack(key, pack.bytes);
    expect(entries).toEqual(pack.entries);
    expect(entries.length).toBe(items.length);
    entries.forEach((e, i) => {
      expect(Buffer.from(e.id).equals(Buffer.from(items[i]!.id))).toBe(true);
      expect(e.kind).toBe(items[i]!.kind);
      expect(e.length).toBe(items[i]!.data.length);
    });
  });

  it("every chunk comes back byte for byte (decodeFrame + chunkFromFrame and readPackChunks)", () => {
    const entries = decodePack(key, pack.bytes);
    entries.forEach((e, i) => {
      const frame = decodeFrame(key, pack.bytes.subarray(e.frameOffset, e.frameOffset + e.frameLength));
      expect(Buffer.from(chunkFromFrame(frame, e)).equals(Buffer.from(items[i]!.data))).toBe(true);
    });
    const byId = new Map(items.map((it) => [Buffer.from(it.id).toString("hex"), it.data]));
    let n = 0;
    for (const { entry, plaintext } of readPackChunks(key, pack.bytes)) {
      expect(Buffer.from(plaintext).equals(Buffer.from(byId.get(Buffer.from(entry.id).toString("hex"))!))).toBe(true);
      n++;
    }
    expect(n).toBe(items.length);
  });

  it("groups small chunks (of both kinds) into frames and gives big chunks their own frame", () => {
    const fs = frames(pack.entries);
    expect(fs.length).toBeLessThan(items.length / 4);
    // Frames tile the area before the header.
    let off = 0;
    for (const [o, l] of fs) {
      expect(o).toBe(off);
      off += l;
    }
    expect(off + readPackHeaderLength(pack.bytes.subarray(pack.bytes.length - 4)) + 4).toBe(pack.bytes.length);
    for (const e of pack.entries) {
      const sharing = pack.entries.filter((x) => x.frameOffset === e.frameOffset);
      if (e.length >= 65536) {
        expect(sharing.length).toBe(1);
        expect(e.innerOffset).toBe(0);
      }
    }
    const mixed = fs.some(([o]) => new Set(pack.entries.filter((e) => e.frameOffset === o).map((e) => e.kind)).size === 2);
    expect(mixed).toBe(true);
  });

  it("closes the open frame once it reaches frameTarget", () => {
    const b = new PackBuilder({ encKey: key, frameTarget: 1000 });
    for (let i = 0; i < 10; i++) b.add(idOf(new Uint8Array([i])), 0, textLike(300, i));
    const entries = b.finish().entries.toArray();
    // 300+300+300+300 = 1200 >= 1000 closes a frame: frames of 4, 4, 2 chunks.
    const counts = frames(entries).map(([o]) => entries.filter((e) => e.frameOffset === o).length);
    expect(counts).toEqual([4, 4, 2]);
  });

  it("tracks size, full and count", () => {
    const b = new PackBuilder({ encKey: key, frameTarget: 4096, packTarget: 50_000 });
    expect(b.size).toBe(0);
    expect(b.full).toBe(false);
    b.add(idOf(new Uint8Array([1])), 0, new Uint8Array(100));
    expect(b.size).toBe(100); // open frame plaintext
    expect(b.count).toBe(1);
    let i = 2;
    while (!b.full) b.add(idOf(new Uint8Array([i, i >> 8])), 0, new Uint8Array(randomBytes(3000 + (i++ % 7))));
    expect(b.size).toBeGreaterThanOrEqual(50_000);
    const p = b.finish();
    expect(p.bytes.length).toBeGreaterThanOrEqual(b.size);
    expect(() => b.add(idOf(new Uint8Array([0])), 0, new Uint8Array(1))).toThrow(/after finish/);
  });

  it("an empty pack and a pack of only empty chunks round-trip", () => {
    const empty = new PackBuilder({ encKey: key }).finish();
    expect(decodePack(key, empty.bytes)).toEqual([]);
    const b = new PackBuilder({ encKey: key });
    b.add(idOf(new Uint8Array([1])), 1, new Uint8Array(0));
    const p = b.finish();
    expect(readAll(key, p.bytes).map((c) => c.length)).toEqual([0]);
  });

  it("rejects bad ids and kinds", () => {
    const b = new PackBuilder({ encKey: key });
    expect(() => b.add(new Uint8Array(31), 0, new Uint8Array(1))).toThrow(/32 bytes/);
    expect(() => b.add(new Uint8Array(32), 2 as 0, new Uint8Array(1))).toThrow(/kind/);
  });
});

describe("pack memory: given buffer, encoder order, entry table", () => {
  const items = makeItems().slice(0, 80);
  const addAll = (b: PackBuilder): void => items.forEach((it) => b.add(it.id, it.kind, it.data));

  it("lays the pack out in a given buffer, growing it when the pack does not fit", () => {
    for (const size of [64, 4 << 20]) {
      const given = new Uint8Array(size).fill(0xaa);
      const b = new PackBuilder({ encKey: key, frameTarget: 8192, buffer: given });
      addAll(b);
      const p = b.finish();
      expect(p.bytes.buffer === given.buffer).toBe(size > p.bytes.length);
      expect(decodePack(key, p.bytes)).toEqual(p.entries.toArray());
      expect(readAll(key, p.bytes).map((c) => Buffer.from(c).toString("hex"))).toEqual(items.map((it) => Buffer.from(it.data).toString("hex")));
    }
  });

  it("places frames in pack order when the encoder finishes them out of order", async () => {
    const waiting: (() => void)[] = [];
    const encoder = (plain: Uint8Array): Promise<Uint8Array> => {
      const sealed = encodeFrame(key, plain.slice());
      return new Promise((resolve) => waiting.push(() => resolve(sealed)));
    };
    const b = new PackBuilder({ encKey: key, frameTarget: 8192, encoder });
    addAll(b);
    const done = b.finishAsync();
    await Promise.resolve();
    while (waiting.length) waiting.pop()!(); // last frame first
    const p = await done;
    expect(readAll(key, p.bytes).map((c) => Buffer.from(c).toString("hex"))).toEqual(items.map((it) => Buffer.from(it.data).toString("hex")));
  });

  it("an encoder failure rejects finishAsync", async () => {
    let n = 0;
    const b = new PackBuilder({ encKey: key, frameTarget: 8192, encoder: async (plain) => (++n === 3 ? Promise.reject(new Error("encoder broke")) : encodeFrame(key, plain.slice())) });
    addAll(b);
    await expect(b.finishAsync()).rejects.toThrow("encoder broke");
  });

  it("PackEntryTable reads header bytes and rejects what is not whole entries", () => {
    const p = new PackBuilder({ encKey: key, frameTarget: 8192 });
    addAll(p);
    const { entries } = p.finish();
    expect(entries.length).toBe(items.length);
    expect([...entries].map((e) => Buffer.from(e.id).toString("hex"))).toEqual(items.map((it) => Buffer.from(it.id).toString("hex")));
    expect(() => entries.at(items.length)).toThrow(RangeError);
    expect(() => new PackEntryTable(new Uint8Array(50))).toThrow(/whole number of 49-byte entries/);
  });
});

describe("frame flags", () => {
  it("incompressible data is stored raw (flag 0), compressible data as zstd (flag 1)", () => {
    const b = new PackBuilder({ encKey: key });
    const rnd = new Uint8Array(randomBytes(100_000));
    const txt = textLike(100_000, 3);
    b.add(idOf(rnd), 0, rnd);
    b.add(idOf(txt), 0, txt);
    const { bytes, entries: table } = b.finish();
    const entries = table.toArray();
    const flagOf = (e: PackEntry): number => open(key, bytes.subarray(e.frameOffset, e.frameOffset + e.frameLength))[0]!;
    expect(flagOf(entries[0]!)).toBe(0);
    expect(entries[0]!.frameLength).toBe(100_000 + 1 + 28);
    expect(flagOf(entries[1]!)).toBe(1);
    expect(entries[1]!.frameLength).toBeLessThan(50_000);
    expect(Buffer.from(readAll(key, bytes)[1]!).equals(Buffer.from(txt))).toBe(true);
  });

  it("an unknown flag is an IntegrityError", () => {
    expect(() => decodeFrame(key, seal(key, new Uint8Array([7, 1, 2])))).toThrow(/unknown flag 7/);
    expect(() => decodeFrame(key, seal(key, new Uint8Array(0)))).toThrow(IntegrityError);
  });
});

describe("damage is detected", () => {
  const items = makeItems().slice(0, 60);
  const pack = build(items, 8192);
  const fs = frames(pack.entries);

  it("a flipped bit in any frame -> IntegrityError", () => {
    expect(fs.length).toBeGreaterThan(3);
    for (const [o, l] of fs) {
      for (const pos of [o, o + 12, o + Math.floor(l / 2), o + l - 1]) {
        const bad = pack.bytes.slice();
        bad[pos]! ^= 0x10;
        expect(decodePack(key, bad)).toEqual(pack.entries); // header untouched
        expectIntegrity(() => readAll(key, bad));
      }
    }
  });

  it("a flipped bit in the header or the trailer -> IntegrityError", () => {
    const hl = readPackHeaderLength(pack.bytes.subarray(pack.bytes.length - 4));
    const hs = pack.bytes.length - 4 - hl;
    for (const pos of [hs, hs + 20, hs + Math.floor(hl / 2), pack.bytes.length - 5]) {
      const bad = pack.bytes.slice();
      bad[pos]! ^= 0x01;
      expectIntegrity(() => decodePack(key, bad));
    }
    for (let i = 1; i <= 4; i++) {
      const bad = pack.bytes.slice();
      bad[pack.bytes.length - i]! ^= 0x04;
      expectIntegrity(() => decodePack(key, bad));
    }
  });

  it("a truncated pack -> IntegrityError", () => {
    const n = pack.bytes.length;
    for (const len of [0, 3, 4, 40, n - 1, n - 5, Math.floor(n / 2)]) {
      expectIntegrity(() => decodePack(key, pack.bytes.subarray(0, len)));
    }
    // Missing the start: header parses, frames do not.
    expectIntegrity(() => readAll(key, pack.bytes.subarray(1)));
    expectIntegrity(() => readAll(key, pack.bytes.subarray(100)));
  });

  it("the wrong key -> IntegrityError", () => {
    expectIntegrity(() => decodePack(otherKey, pack.bytes));
    expectIntegrity(() => readAll(otherKey, pack.bytes));
    const e = pack.entries[0]!;
    expectIntegrity(() => decodeFrame(otherKey, pack.bytes.subarray(e.frameOffset, e.frameOffset + e.frameLength)));
  });

  it("chunkFromFrame rejects an entry outside the frame", () => {
    expect(() => chunkFromFrame(new Uint8Array(10), { innerOffset: 5, length: 6 })).toThrow(/outside the decoded frame/);
  });
});

describe("decodePackHeader validation", () => {
  function header(count: number, entries: [number, number, number, number, number][], magic = "RSTPACK1"): Uint8Array {
    const h = new Uint8Array(12 + 49 * entries.length);
    h.set(new TextEncoder().encode(magic), 0);
    putU32(h, 8, count);
    entries.forEach(([kind, fo, fl, io, len], i) => {
      const o = 12 + 49 * i;
      h.fill(i + 1, o, o + 32);
      h[o + 32] = kind;
      putU32(h, o + 33, fo);
      putU32(h, o + 37, fl);
      putU32(h, o + 41, io);
      putU32(h, o + 45, len);
    });
    return seal(key, h);
  }
  const ok: [number, number, number, number, number] = [0, 0, 100, 0, 10];
  const packLen = (sh: Uint8Array, area = 1000): number => area + sh.length + 4;

  it("accepts a consistent header", () => {
    const sh = header(2, [ok, [1, 100, 50, 0, 5]]);
    expect(decodePackHeader(key, sh, packLen(sh)).map((e) => e.frameOffset)).toEqual([0, 100]);
  });
  it("names each problem", () => {
    let sh = header(1, [ok], "RSTPACK2");
    expect(() => decodePackHeader(key, sh, packLen(sh))).toThrow(/bad magic/);
    sh = header(3, [ok, ok]);
    expect(() => decodePackHeader(key, sh, packLen(sh))).toThrow(/count 3 needs 147 entry bytes, header has 98/);
    sh = header(1, [[2, 0, 100, 0, 1]]);
    expect(() => decodePackHeader(key, sh, packLen(sh))).toThrow(/kind 2/);
    sh = header(1, [[0, 950, 100, 0, 1]]);
    expect(() => decodePackHeader(key, sh, packLen(sh))).toThrow(/outside the frame area \[0, 1000\)/);
    sh = header(2, [ok, [0, 50, 100, 0, 1]]);
    expect(() => decodePackHeader(key, sh, packLen(sh))).toThrow(/overlap/);
    sh = header(2, [ok, [0, 0, 90, 0, 1]]);
    expect(() => decodePackHeader(key, sh, packLen(sh))).toThrow(/two lengths/);
    sh = header(1, [[0, 0, 10, 0, 1]]);
    expect(() => decodePackHeader(key, sh, packLen(sh))).toThrow(/below the minimum/);
    sh = header(1, [ok]);
    expect(() => decodePackHeader(key, sh, sh.length)).toThrow(/do not fit/);
    for (const f of [() => decodePackHeader(key, sh, 10)]) expectIntegrity(f);
  });
  it("readPackHeaderLength checks its input", () => {
    expectIntegrity(() => readPackHeaderLength(new Uint8Array(3)));
    expectIntegrity(() => readPackHeaderLength(new Uint8Array(4)));
    const b = new Uint8Array(4);
    putU32(b, 0, 1234);
    expect(readPackHeaderLength(b)).toBe(1234);
  });
});
