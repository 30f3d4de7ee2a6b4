/**
 * Key slots: the repository's random master secret, wrapped once per way of
 * opening it (a password, through scrypt; or a raw 32-byte key given as hex or
 * base64, like wal-g's `WALG_LIBSODIUM_KEY_TRANSFORM`). Any slot yields the same
 * master secret, so adding or removing a password never re-encrypts data.
 * Format in docs/format.md ("Key slots").
 */
import { DEFAULT_SCRYPT, KEY_BYTES, hkdf, open, random, scryptKey, seal, type ScryptParams } from "./crypto.js";
import { ConfigError, IntegrityError, WrongKeyError } from "./errors.js";

/** What the user gives to open a repository. */
export type Secret = { readonly kind: "password"; readonly password: string } | { readonly kind: "raw"; readonly key: Uint8Array };

/** A stored key slot (JSON at `keys/<id>`). Binary fields are base64. */
export interface KeySlot {
  readonly format: 1;
  readonly id: string;
  readonly kind: "password" | "raw";
  readonly createdAt: string;
  readonly host: string;
  /** Label given by the user (`key add --label`), for `key list`. */
  readonly label?: string;
  /** scrypt parameters and salt (base64), for password slots. */
  readonly scrypt?: ScryptParams & { readonly salt: string };
  /** seal(KEK, master secret) with the repository id as additional data, base64. */
  readonly wrapped: string;
}

/** The sub-keys every operation uses, derived from the master secret with HKDF (RFC 5869). */
export interface RepoKeys {
  /** AES-256-GCM key for packs, index files, manifests, annotations, locks. */
  readonly encKey: Uint8Array;
  /** HMAC-SHA-256 key that turns chunk contents into chunk ids. */
  readonly idKey: Uint8Array;
  /** Seed of the FastCDC gear table, so chunk boundaries reveal nothing to whoever lacks the key. */
  readonly gearSeed: Uint8Array;
}

/** Derives the sub-keys from a 32-byte master secret. */
export function deriveKeys(master: Uint8Array): RepoKeys {
  return {
    encKey: hkdf(master, "restorable/v1/encrypt"),
    idKey: hkdf(master, "restorable/v1/chunk-id"),
    gearSeed: hkdf(master, "restorable/v1/cdc-gear"),
  };
}

/**
 * Parses a raw key given as 64 hex digits or as base64 of 32 bytes.
 * @param field the name to put in the error (e.g. `RESTORABLE_KEY`).
 * @throws ConfigError when the text is neither.
 */
export function parseRawKey(text: string, field: string): Uint8Array {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return new Uint8Array(Buffer.from(t, "hex"));
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (b.length === KEY_BYTES) return new Uint8Array(b);
  }
  throw new ConfigError(`${field}: expected a 32-byte key as 64 hex digits or base64 (44 characters)`, { field });
}

/** The key-encryption key of a slot: scrypt of the password (on the thread pool), or HKDF of the raw key. */
async function kek(secret: Secret, slot: Pick<KeySlot, "scrypt">): Promise<Uint8Array> {
  if (secret.kind === "raw") return hkdf(secret.key, "restorable/v1/raw-key-slot");
  const s = slot.scrypt;
  if (!s) throw new IntegrityError("password key slot lacks scrypt parameters");
  return scryptKey(secret.password, new Uint8Array(Buffer.from(s.salt, "base64")), s);
}

/**
 * Wraps `master` in a new slot opened by `secret`.
 * @param repoId bound into the wrapping as additional data, so a slot cannot be moved to another repository.
 * @throws IntegrityError never in practice (a slot made here always has its scrypt parameters).
 */
export async function createKeySlot(
  master: Uint8Array,
  secret: Secret,
  repoId: string,
  meta: { readonly id: string; readonly host: string; readonly now: Date; readonly label?: string; readonly scrypt?: ScryptParams },
): Promise<KeySlot> {
  const scrypt = secret.kind === "password" ? { ...(meta.scrypt ?? DEFAULT_SCRYPT), salt: Buffer.from(random(32)).toString("base64") } : undefined;
  const wrapped = seal(await kek(secret, { scrypt }), master, new TextEncoder().encode(repoId));
  return {
    format: 1,
    id: meta.id,
    kind: secret.kind,
    createdAt: meta.now.toISOString(),
    host: meta.host,
    ...(meta.label ? { label: meta.label } : {}),
    ...(scrypt ? { scrypt } : {}),
    wrapped: Buffer.from(wrapped).toString("base64"),
  };
}

/**
 * Opens one slot.
 * @returns the 32-byte master secret, or undefined when `secret` does not open this slot.
 */
export async function tryOpenKeySlot(slot: KeySlot, secret: Secret, repoId: string): Promise<Uint8Array | undefined> {
  if (slot.kind !== secret.kind) return undefined;
  try {
    const master = open(await kek(secret, slot), new Uint8Array(Buffer.from(slot.wrapped, "base64")), new TextEncoder().encode(repoId));
    return master.length === KEY_BYTES ? master : undefined;
  } catch (err) {
    if (err instanceof IntegrityError) return undefined;
    throw err;
  }
}

/**
 * Opens the first slot that `secret` fits, one slot at a time (each password slot's scrypt holds 128 MiB).
 * @throws WrongKeyError when none does.
 */
export async function openKeySlots(slots: readonly KeySlot[], secret: Secret, repoId: string): Promise<{ master: Uint8Array; slot: KeySlot }> {
  for (const slot of slots) {
    const master = await tryOpenKeySlot(slot, secret, repoId);
    if (master) return { master, slot };
  }
  throw new WrongKeyError(`no key slot opens with the ${secret.kind === "password" ? "password" : "raw key"} given (${slots.length} slot(s) tried)`);
}
