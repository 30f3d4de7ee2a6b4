import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CDC_DATA, CDC_META, CdcChunker, makeGearTable, spreadMask, type CdcParams } from "../../src/core/fastcdc.js";

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function prng(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n + ((4 - (n % 4)) % 4));
  const w = new Uint32Array(out.buffer);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < w.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    w[i] = x;
  }
  return out.subarray(0, n);
}

const seedA = new Uint8Array(32).fill(1);
const seedB = new Uint8Array(32).fill(2);
const SMALL: CdcParams = { minSize: 2 * 1024, avgSize: 8 * 1024, maxSize: 32 * 1024 };

function cuts(ch: CdcChunker, data: Uint8Array): number[] {
  const out: number[] = [];
  let s = 0;
  while (s < data.length) {
    s = ch.findCut(data, s, data.length);
    out.push(s);
  }
  return out;
}

function streamed(ch: CdcChunker, data: Uint8Array, sizes: () => number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let off = 0;
  while (off < data.length) {
    const n = Math.min(sizes(), data.length - off);
    // Copy into a reused scratch buffer: chunks must be consumed before the next push.
    const scratch = data.slice(off, off + n);
    for (const c of ch.push(scratch)) chunks.push(c.slice());
    scratch.fill(0xaa);
    off += n;
  }
  for (const c of ch.finish()) chunks.push(c.slice());
  return chunks;
}

const hashOf = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** Byte-at-a-time reference of the same algorithm (paper's Algorithm 1 with NC masks), to check the word-at-a-time scan. */
function referenceCut(ch: CdcChunker, gear: Uint32Array, buf: Uint8Array, start: number, end: number): number {
  const { minSize, avgSize, maxSize } = ch.params;
  const n = end - start;
  if (n <= minSize) return end;
  const limit = n > maxSize ? start + maxSize : end;
  const normal = Math.min(start + avgSize, limit);
  let fp = 0;
  for (let i = start + minSize; i < limit; i++) {
    fp = ((fp << 1) + gear[buf[i]!]!) >>> 0;
    if ((fp & (i < normal ? ch.maskS : ch.maskL)) >>> 0 === 0) return i + 1;
  }
  return limit;
}

describe("makeGearTable", () => {
  it("is deterministic per seed, 256 entries, seed-dependent", () => {
    const a1 = makeGearTable(seedA);
    const a2 = makeGearTable(seedA.slice());
    const b = makeGearTable(seedB);
    expect(a1.length).toBe(256);
    expect(Array.from(a1)).toEqual(Array.from(a2));
    expect(Array.from(a1)).not.toEqual(Array.from(b));
    expect(new Set(a1).size).toBeGreaterThan(250);
  });
  it("rejects a seed that is not 32 bytes", () => {
    expect(() => makeGearTable(new Uint8Array(16))).toThrow(/32 bytes/);
  });
});

describe("masks", () => {
  const popcount = (x: number): number => {
    let c = 0;
    for (let v = x >>> 0; v; v >>>= 1) c += v & 1;
    return c;
  };
  it("have log2(avg)+2 bits before avg and log2(avg)-2 after (NC level 2), top bit set", () => {
    for (const [p, bits] of [
      [CDC_DATA, 20],
      [CDC_META, 16],
      [SMALL, 13],
    ] as const) {
      const ch = new CdcChunker(p, makeGearTable(seedA));
      expect(popcount(ch.maskS)).toBe(bits + 2);
      expect(popcount(ch.maskL)).toBe(bits - 2);
      expect(ch.maskS >>> 31).toBe(1);
      expect(ch.maskL >>> 31).toBe(1);
    }
  });
  it("spreads bits out (no run of more than two ones for <= 16 bits)", () => {
    for (let k = 1; k <= 16; k++) {
      const m = spreadMask(k);
      expect(popcount(m)).toBe(k);
      expect((m & (m << 1) & (m << 2)) >>> 0).toBe(0);
    }
  });
  it("rejects bad params", () => {
    const g = makeGearTable(seedA);
    expect(() => new CdcChunker({ minSize: 1024, avgSize: 3000, maxSize: 9000 }, g)).toThrow(/power of two/);
    expect(() => new CdcChunker({ minSize: 8192, avgSize: 4096, maxSize: 9000 }, g)).toThrow(/minSize < avgSize < maxSize/);
    expect(() => new CdcChunker(SMALL, new Uint32Array(10))).toThrow(/256/);
  });
});

describe("CdcChunker.findCut", () => {
  const gear = makeGearTable(seedA);
  const ch = new CdcChunker(SMALL, gear);

  it("returns end when fewer than minSize bytes remain, and never cuts before start+min or after start+max", () => {
    const data = prng(4 * 1024 * 1024, 7);
    expect(ch.findCut(data, 100, 100 + SMALL.minSize - 1)).toBe(100 + SMALL.minSize - 1);
    expect(ch.findCut(data, 100, 100 + SMALL.minSize)).toBe(100 + SMALL.minSize);
    expect(ch.findCut(data, 5, 5)).toBe(5);
    let s = 0;
    while (s < data.length) {
      const e = ch.findCut(data, s, data.length);
      if (data.length - s > SMALL.minSize) expect(e).toBeGreaterThan(s + SMALL.minSize);
      expect(e - s).toBeLessThanOrEqual(SMALL.maxSize);
      s = e;
    }
  });

  it("cuts constant data at exactly maxSize", () => {
    const zeros = new Uint8Array(10 * SMALL.maxSize + 123);
    const c = cuts(ch, zeros);
    const sizes = c.map((e, i) => e - (i === 0 ? 0 : c[i - 1]!));
    expect(sizes.slice(0, 10).every((s) => s === SMALL.maxSize)).toBe(true);
    expect(sizes[10]).toBe(123);
  });

  it("matches a byte-at-a-time reference at every alignment", () => {
    const base = prng(3 * 1024 * 1024 + 8, 11);
    for (let shift = 0; shift < 4; shift++) {
      const buf = base.subarray(shift, base.length - (3 - shift)); // byteOffset 0..3
      let s = 0;
      let n = 0;
      while (s < buf.length) {
        const e = ch.findCut(buf, s, buf.length);
        expect(e).toBe(referenceCut(ch, gear, buf, s, buf.length));
        s = e;
        n++;
      }
      expect(n).toBeGreaterThan(100);
    }
    // Also on small windows that end mid-word.
    for (let start = 0; start < 40; start += 3) {
      for (const len of [SMALL.minSize + 1, SMALL.minSize + 5, SMALL.avgSize + 3, SMALL.maxSize + 7]) {
        expect(ch.findCut(base, start, start + len)).toBe(referenceCut(ch, gear, base, start, start + len));
      }
    }
  });

  it("throws on bad bounds", () => {
    expect(() => ch.findCut(new Uint8Array(10), 5, 11)).toThrow(RangeError);
    expect(() => ch.findCut(new Uint8Array(10), 6, 5)).toThrow(RangeError);
  });
});

describe("CdcChunker on random data", () => {
  it("gives the same cuts for the same seed and different cuts for different seeds", () => {
    const data = prng(8 * 1024 * 1024, 3);
    const a = cuts(new CdcChunker(SMALL, makeGearTable(seedA)), data);
    const a2 = cuts(new CdcChunker(SMALL, makeGearTable(seedA)), data);
    const b = cuts(new CdcChunker(SMALL, makeGearTable(seedB)), data);
    expect(a).toEqual(a2);
    expect(b).not.toEqual(a);
    const shared = b.filter((x) => a.includes(x)).length;
    expect(shared / b.length).toBeLessThan(0.2);
  });

  for (const [name, params, size] of [
    ["SMALL", SMALL, 8 * 1024 * 1024],
    ["CDC_META", CDC_META, 48 * 1024 * 1024],
    ["CDC_DATA", CDC_DATA, 96 * 1024 * 1024],
  ] as const) {
    it(`${name}: sizes within [min, max], average within 30% of avgSize`, () => {
      const data = prng(size, 5);
      const c = cuts(new CdcChunker(params, makeGearTable(seedA)), data);
      const sizes = c.map((e, i) => e - (i === 0 ? 0 : c[i - 1]!));
      for (const s of sizes.slice(0, -1)) {
        expect(s).toBeGreaterThan(params.minSize);
        expect(s).toBeLessThanOrEqual(params.maxSize);
      }
      expect(sizes.at(-1)!).toBeLessThanOrEqual(params.maxSize);
      const avg = size / sizes.length;
      expect(Math.abs(avg - params.avgSize) / params.avgSize).toBeLessThan(0.3);
    });
  }

  it("insertion of 100 bytes near the start of 20 MiB changes only a couple of chunks", () => {
    for (const params of [CDC_DATA, CDC_META]) {
      const ch = new CdcChunker(params, makeGearTable(seedA));
      const a = prng(20 * 1024 * 1024, 9);
      const b = new Uint8Array(a.length + 100);
      const at = 1000;
      b.set(a.subarray(0, at), 0);
      b.set(prng(100, 77), at);
      b.set(a.subarray(at), at + 100);
      const ca = cuts(ch, a);
      const cb = cuts(ch, b);
      const chunksOf = (d: Uint8Array, c: number[]): string[] => c.map((e, i) => hashOf(d.subarray(i === 0 ? 0 : c[i - 1]!, e)));
      const ha = new Set(chunksOf(a, ca));
      const hb = chunksOf(b, cb);
      const changed = hb.filter((h) => !ha.has(h)).length;
      expect(hb.length).toBeGreaterThan(10);
      expect(changed).toBeGreaterThanOrEqual(1);
      expect(changed).toBeLessThanOrEqual(2);
    }
  });
});

describe("CdcChunker streaming", () => {
  it("push with random split sizes (0 bytes .. several max) gives the one-shot chunks", () => {
    const data = prng(6 * 1024 * 1024 + 17, 21);
    const gear = makeGearTable(seedA);
    const oneShot = cuts(new CdcChunker(SMALL, gear), data);
    const expected = oneShot.map((e, i) => hashOf(data.subarray(i === 0 ? 0 : oneShot[i - 1]!, e)));
    const r = prng(4096, 99);
    let k = 0;
    const pick = (): number => {
      const v = r[k++ % r.length]!;
      if (v < 20) return 0;
      if (v < 60) return 1 + (v % 7);
      if (v < 200) return v * 97;
      return v * 1031; // up to ~260 KiB, several maxSize
    };
    for (let round = 0; round < 3; round++) {
      const ch = new CdcChunker(SMALL, gear);
      const got = streamed(ch, data, pick).map(hashOf);
      expect(got).toEqual(expected);
      // The chunker resets after finish: reuse gives the same result.
      expect(streamed(ch, data, () => 65536).map(hashOf)).toEqual(expected);
    }
  });

  it("CDC_DATA with 8 MiB reads matches one-shot", () => {
    const data = prng(40 * 1024 * 1024 + 5, 31);
    const gear = makeGearTable(seedB);
    const oneShot = cuts(new CdcChunker(CDC_DATA, gear), data);
    const expected = oneShot.map((e, i) => hashOf(data.subarray(i === 0 ? 0 : oneShot[i - 1]!, e)));
    const got = streamed(new CdcChunker(CDC_DATA, gear), data, () => 8 * 1024 * 1024).map(hashOf);
    expect(got).toEqual(expected);
  });

  it("handles an empty stream and a stream shorter than minSize", () => {
    const ch = new CdcChunker(SMALL, makeGearTable(seedA));
    expect(ch.finish()).toEqual([]);
    expect(ch.push(new Uint8Array(0))).toEqual([]);
    expect(ch.push(new Uint8Array([1, 2, 3]))).toEqual([]);
    const rest = ch.finish();
    expect(rest.length).toBe(1);
    expect(Array.from(rest[0]!)).toEqual([1, 2, 3]);
  });
});
