/**
 * Capability probe: checks, on the real store, the guarantees the repository
 * relies on instead of trusting the provider's documentation. Some
 * S3-compatible providers ignore `If-None-Match: *` or list new objects late.
 */
import { random, toHex } from "../core/crypto.js";
import { NotFoundError, ObjectExistsError, StoreError } from "../core/errors.js";
import type { ObjectStore } from "./types.js";

/** What `probeCapabilities` found. */
export interface StoreCapabilities {
  /** A second create-only put of an existing key failed with ObjectExistsError (locks are safe). */
  readonly conditionalCreate: boolean;
  /** A get right after the put returned exactly the bytes written. */
  readonly readAfterWrite: boolean;
  /** A list right after the put included the key. */
  readonly listAfterWrite: boolean;
  /** When the probe ran (ISO 8601, UTC). */
  readonly probedAt: string;
  /** The probe object was removed afterwards (false when the delete was refused, e.g. by an IAM policy). */
  readonly cleanedUp: boolean;
}

/** Folder the probe writes into. */
export const PROBE_PREFIX = "probe/";

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Writes a random object under `probe/`, tries to create it a second time
 * with `ifNoneMatch` (must fail with ObjectExistsError), reads it back and
 * lists `probe/` at once, then deletes it. A missing capability is reported as
 * `false`, never thrown.
 * @throws StoreError (or another store error) only when the store fails
 *   outright: the object cannot be written at all, or a read/list call errors.
 */
export async function probeCapabilities(store: ObjectStore): Promise<StoreCapabilities> {
  const probedAt = new Date().toISOString();
  const key = `${PROBE_PREFIX}${toHex(random(16))}`;
  const first = random(64);
  const second = random(64);
  let written = first;
  let conditionalCreate = false;

  try {
    try {
      await store.put(key, first, { ifNoneMatch: true });
    } catch (error) {
      // A provider may reject the conditional header itself (e.g. 501): fall back to a plain put.
      const transient = error instanceof StoreError && (error.retryable || error.details.transient === true);
      if (!(error instanceof StoreError) || transient || error instanceof ObjectExistsError) throw error;
      await store.put(key, first);
    }

    try {
      await store.put(key, second, { ifNoneMatch: true });
      written = second; // the header was ignored: the object was overwritten
    } catch (error) {
      conditionalCreate = error instanceof ObjectExistsError;
      if (!(error instanceof StoreError)) throw error;
    }

    let readAfterWrite = false;
    try {
      readAfterWrite = sameBytes(await store.get(key), written);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }

    const listed = await store.list(PROBE_PREFIX);
    const listAfterWrite = listed.some((info) => info.key === key);

    return { conditionalCreate, readAfterWrite, listAfterWrite, probedAt, cleanedUp: await removeQuietly(store, key) };
  } catch (error) {
    await removeQuietly(store, key);
    throw error;
  }
}

async function removeQuietly(store: ObjectStore, key: string): Promise<boolean> {
  try {
    await store.delete(key);
    return true;
  } catch {
    return false;
  }
}
