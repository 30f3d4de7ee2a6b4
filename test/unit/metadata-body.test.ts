import { describe, expect, it } from "vitest";
import { compress, packBody, RAW_BODY_BELOW, unpackBody } from "../../src/core/compress.js";
import { open, seal, SEAL_OVERHEAD } from "../../src/core/crypto.js";
import { openJson, sealJson } from "../../src/core/envelope.js";
import { IntegrityError } from "../../src/core/errors.js";

const key = new Uint8Array(32).fill(9);
const enc = new TextEncoder();

describe("metadata bodies (docs/format.md, body?)", () => {
  it("stores a small body raw and a large one as a zstd frame, and reads both back", () => {
    const small = enc.encode(JSON.stringify({ id: "x", list: [1, 2, 3] }));
    expect(packBody(small)).toBe(small);
    const large = enc.encode(JSON.stringify({ names: Array.from({ length: 4000 }, (_, i) => `file-${i}`) }));
    expect(large.length).toBeGreaterThanOrEqual(RAW_BODY_BELOW);
    const stored = packBody(large);
    expect(Array.from(stored.subarray(0, 4))).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    expect(stored.length).toBeLessThan(large.length / 2);
    expect(new Uint8Array(unpackBody(stored))).toEqual(large);
    expect(unpackBody(small)).toBe(small);
  });

  it("compresses a small body that starts with the zstd magic, so it cannot be misread", () => {
    const tricky = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]);
    const stored = packBody(tricky);
    expect(stored).not.toBe(tricky);
    expect(new Uint8Array(unpackBody(stored))).toEqual(tricky);
  });

  it("seals small JSON objects without compression and reads objects sealed with zstd (older repositories)", () => {
    const value = { format: 1, id: "20261122T000000Z-00000000", tags: ["a"] };
    const sealed = sealJson(key, "manifest", value);
    expect(sealed.length).toBe(JSON.stringify(value).length + SEAL_OVERHEAD);
    expect(openJson(key, "manifest", sealed, "m")).toEqual(value);
    const legacy = seal(key, compress(enc.encode(JSON.stringify(value))), enc.encode("restorable/v1/manifest"));
    expect(openJson(key, "manifest", legacy, "m")).toEqual(value);
    expect(new TextDecoder().decode(open(key, sealed, enc.encode("restorable/v1/manifest")))).toBe(JSON.stringify(value));
  });

  it("fails with IntegrityError on an object whose zstd body is damaged", () => {
    // (node:zlib returns no bytes rather than an error for this truncated frame; parsing then fails)
    const bad = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]);
    expect(() => openJson(key, "annotation", seal(key, bad, enc.encode("restorable/v1/annotation")), "a")).toThrow(IntegrityError);
  });
});

describe("zstdContentSize (RFC 8878 frame header)", () => {
  it("reads the size node:zlib's one-shot frames declare, for every size class", async () => {
    const { zstdContentSize } = await import("../../src/core/compress.js");
    for (const n of [0, 1, 200, 255, 256, 300, 65_791, 65_792, 70_000, 1 << 20, 5_000_000]) {
      const data = new Uint8Array(n).map((_, i) => (i * 7) & 0xff);
      expect(zstdContentSize(compress(data)), String(n)).toBe(n);
    }
    expect(zstdContentSize(enc.encode("{}"))).toBeUndefined();
  });
});
