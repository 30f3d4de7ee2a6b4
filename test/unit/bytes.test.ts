import { describe, expect, it } from "vitest";
import { freeNow, growBytes } from "../../src/core/bytes.js";

describe("freeNow", () => {
  it("releases a buffer's memory at once: every view of it is empty afterwards", () => {
    const big = new Uint8Array(1024 * 1024).fill(7);
    const view = big.subarray(10, 20);
    freeNow(view);
    expect(big.buffer.detached).toBe(true);
    expect(big.length).toBe(0);
    expect(view.length).toBe(0);
    freeNow(big); // a second call is harmless
  });

  it("leaves Node's pooled small Buffers alone (they share one ArrayBuffer)", () => {
    const a = Buffer.from("first small buffer");
    const b = Buffer.from("second small buffer");
    expect(a.buffer.byteLength).toBeLessThanOrEqual(Buffer.poolSize);
    freeNow(a);
    expect(a.buffer.detached).toBe(false);
    expect(a.toString()).toBe("first small buffer");
    expect(b.toString()).toBe("second small buffer");
  });
});

describe("growBytes", () => {
  it("returns the same array when it is large enough, else a doubled copy of the used bytes", () => {
    const buf = new Uint8Array([1, 2, 3, 4]);
    expect(growBytes(buf, 4, 4)).toBe(buf);
    const grown = growBytes(buf, 5, 3);
    expect(grown.length).toBe(8);
    expect([...grown.subarray(0, 4)]).toEqual([1, 2, 3, 0]);
    expect(growBytes(buf, 100, 4).length).toBe(100);
  });
});
