/**
 * Cryptographic primitives, all from `node:crypto`:
 * - AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce per message.
 *   Sealed form: `nonce(12) || ciphertext || tag(16)`. With random nonces the
 *   bound is 2^32 messages per key (SP 800-38D §8.3); see docs/format.md for
 *   how the repository stays far below it.
 * - HMAC-SHA-256 (RFC 2104) for chunk ids, under a key only the repository knows.
 * - HKDF-SHA-256 (RFC 5869) to derive sub-keys from the master key.
 * - scrypt (RFC 7914) to turn a password into a key-encryption key.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, scrypt } from "node:crypto";
import { freeNow } from "./bytes.js";
import { IntegrityError } from "./errors.js";

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Bytes a sealed message adds to its plaintext. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;
/** Plaintext bytes `seal` encrypts per cipher call. */
const SEAL_SLICE = 1024 * 1024;

/** Cryptographically random bytes. */
export function random(n: number): Uint8Array {
  return new Uint8Array(randomBytes(n));
}

/**
 * Encrypts and authenticates `plaintext` with AES-256-GCM.
 * @param key 32 bytes.
 * @param aad optional additional authenticated data (not stored).
 * @returns `nonce || ciphertext || tag`, `plaintext.length + 28` bytes.
 */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  if (aad) cipher.setAAD(aad);
  const out = new Uint8Array(NONCE_BYTES + plaintext.length + TAG_BYTES);
  out.set(nonce, 0);
  // In slices: node:crypto has no output buffer, and a whole-body `update` of an index file
  // (~10 MB on D1) held a second copy of it at the snapshot's memory peak.
  let at = NONCE_BYTES;
  for (let off = 0; off < plaintext.length; off += SEAL_SLICE) {
    const part = cipher.update(plaintext.subarray(off, Math.min(plaintext.length, off + SEAL_SLICE)));
    out.set(part, at);
    at += part.length;
    freeNow(part);
  }
  out.set(cipher.final(), at);
  out.set(cipher.getAuthTag(), NONCE_BYTES + plaintext.length);
  return out;
}

/**
 * Decrypts a message made by `seal`.
 * @throws IntegrityError when the message is too short or fails authentication
 *   (wrong key, or any bit changed).
 */
export function open(key: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array {
  if (sealed.length < SEAL_OVERHEAD) throw new IntegrityError("sealed message is shorter than its overhead");
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    const a = decipher.update(body);
    const b = decipher.final();
    if (b.length === 0) return new Uint8Array(a.buffer, a.byteOffset, a.length);
    return new Uint8Array(Buffer.concat([a, b]));
  } catch (err) {
    throw new IntegrityError("authentication failed (AES-256-GCM tag mismatch)", {}, { cause: err });
  }
}

/** HMAC-SHA-256 of `data` under `key`: 32 bytes. */
export function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  // The digest Buffer is a Uint8Array with memory of its own (not pooled): no copy.
  return createHmac("sha256", key).update(data).digest();
}

/** SHA-256 of `data`: 32 bytes. */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/** HKDF-SHA-256 (RFC 5869): `length` bytes for `info` from input key material `ikm`. */
export function hkdf(ikm: Uint8Array, info: string, length = KEY_BYTES): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", ikm, new Uint8Array(0), info, length));
}

/** scrypt parameters (RFC 7914), stored in each password key slot. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Default: N=2^17, r=8, p=1 (128 MiB, 0.3-0.6 s here), the interactive-login level RFC 7914 §2 and OWASP suggest. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };

/**
 * Derives a 32-byte key from a password with scrypt; raises `maxmem` to what the parameters need.
 * Runs on libuv's thread pool, not the calling thread: a snapshot walks its sources meanwhile (at the
 * default cost it takes about 0.55 s here, a twentieth of a D1 snapshot).
 * @throws Error from node:crypto when the parameters are invalid.
 */
export function scryptKey(password: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  const maxmem = 128 * params.N * params.r * params.p + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, KEY_BYTES, { ...params, maxmem }, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))));
  });
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");
}

/** Bytes of a hex string (no validation beyond Buffer's). */
export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}
