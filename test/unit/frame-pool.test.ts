import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { random } from "../../src/core/crypto.js";
import { PackBuilder, decodeFrame, decodePack } from "../../src/core/pack.js";
import { FramePool } from "../../src/repo/frame-pool.js";

describe("frame pool", () => {
  const key = random(32);
  const pool = new FramePool(key, 2);
  afterAll(() => pool.close());

  it("encodes frames that decodeFrame reads back, compressible and not", async () => {
    const text = new TextEncoder().encode("the same line again and again\n".repeat(4000));
    const noise = new Uint8Array(randomBytes(100_000));
    for (const plain of [text, noise, new Uint8Array(1)]) {
      const sealed = await pool.encode(plain.slice());
      expect(Buffer.compare(decodeFrame(key, sealed), plain)).toBe(0);
    }
    // Compressible data is stored compressed.
    expect((await pool.encode(text.slice())).length).toBeLessThan(text.length / 10);
  });

  it("builds the same pack layout as the single-threaded builder", async () => {
    const chunks = Array.from({ length: 300 }, (_, i) => new TextEncoder().encode(`chunk ${i} `.repeat(50 + (i % 700))));
    const build = async (encoder?: typeof pool.encode) => {
      const b = new PackBuilder({ encKey: key, frameTarget: 16 * 1024, ...(encoder ? { encoder } : {}) });
      chunks.forEach((c, i) => b.add(new Uint8Array(32).fill(i % 256).map((x, j) => (j === 0 ? i >> 8 : x)), 0, c));
      return encoder ? b.finishAsync() : b.finish();
    };
    const [a, b] = await Promise.all([build(), build(pool.encode)]);
    // Random nonces make the bytes differ; the layout (lengths, offsets) and the contents must not.
    expect(b.entries.map((e) => [e.frameLength, e.frameOffset, e.innerOffset, e.length])).toEqual(a.entries.map((e) => [e.frameLength, e.frameOffset, e.innerOffset, e.length]));
    const entries = decodePack(key, b.bytes);
    entries.forEach((e, i) => {
      const frame = decodeFrame(key, b.bytes.subarray(e.frameOffset, e.frameOffset + e.frameLength));
      expect(Buffer.compare(frame.subarray(e.innerOffset, e.innerOffset + e.length), chunks[i]!)).toBe(0);
    });
  });
});
