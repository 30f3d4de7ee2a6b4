/**
 * Encrypted JSON objects (config-free metadata: manifests, annotations,
 * locks): `seal(encKey, body?(utf8(JSON)))` (body?: zstd from 16 KiB on, see packBody), with the object's kind as
 * additional authenticated data so a manifest cannot be replayed as an
 * annotation. Spec: docs/format.md ("Encrypted objects").
 */
import { packBody, unpackBody } from "./compress.js";
import { open, seal } from "./crypto.js";
import { IntegrityError } from "./errors.js";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** Kinds of encrypted JSON object; the kind is authenticated. */
export type EnvelopeKind = "manifest" | "annotation" | "lock";

/** Serializes and encrypts `value`. */
export function sealJson(encKey: Uint8Array, kind: EnvelopeKind, value: unknown): Uint8Array {
  return seal(encKey, packBody(enc.encode(JSON.stringify(value))), enc.encode(`restorable/v1/${kind}`));
}

/**
 * Decrypts and parses an object written by `sealJson` with the same kind.
 * @param what names the object in errors (e.g. its key).
 * @throws IntegrityError when authentication, decompression or parsing fails.
 */
export function openJson<T>(encKey: Uint8Array, kind: EnvelopeKind, bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(dec.decode(unpackBody(open(encKey, bytes, enc.encode(`restorable/v1/${kind}`))))) as T;
  } catch (err) {
    throw new IntegrityError(`${what}: cannot be decrypted or parsed (${(err as Error).message})`, { key: what }, { cause: err });
  }
}
