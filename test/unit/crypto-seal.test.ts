import { createDecipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { open, random, seal, SEAL_OVERHEAD } from "../../src/core/crypto.js";

describe("seal / open (AES-256-GCM)", () => {
  it("seals bodies larger than one slice exactly as one-shot AES-256-GCM would, and open rejects any flipped bit", () => {
    const key = random(32);
    for (const size of [0, 17, 1024 * 1024, 3 * 1024 * 1024 + 5]) {
      const plain = new Uint8Array(randomBytes(size));
      const aad = new TextEncoder().encode("restorable/v1/test");
      const sealed = seal(key, plain, aad);
      expect(sealed.length).toBe(size + SEAL_OVERHEAD);
      // An independent one-shot decryption of the same bytes.
      const d = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, 12));
      d.setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      expect(Buffer.compare(Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]), plain)).toBe(0);
      expect(Buffer.compare(open(key, sealed, aad), plain)).toBe(0);
      const bad = sealed.slice();
      bad[Math.floor(bad.length / 2)]! ^= 1;
      expect(() => open(key, bad, aad)).toThrow();
    }
  });
});
