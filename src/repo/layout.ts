/**
 * Object names inside a repository (the store's keys). The layout is part of
 * format v1, specified in docs/format.md.
 */
import { toHex } from "../core/crypto.js";

export const CONFIG_KEY = "config";
export const KEYS_PREFIX = "keys/";
export const DATA_PREFIX = "data/";
export const INDEX_PREFIX = "index/";
export const SNAPSHOTS_PREFIX = "snapshots/";
export const ANNOTATIONS_PREFIX = "annotations/";
export const LOCKS_PREFIX = "locks/";

/** `data/<first two hex>/<64 hex>` for a 32-byte pack id. */
export function packKey(packId: Uint8Array | string): string {
  const hex = typeof packId === "string" ? packId : toHex(packId);
  return `${DATA_PREFIX}${hex.slice(0, 2)}/${hex}`;
}

/** The pack id (hex) of a `data/..` key, or undefined when the key is not a pack. */
export function packIdFromKey(key: string): string | undefined {
  const m = /^data\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(key);
  return m && m[2]!.startsWith(m[1]!) ? m[2] : undefined;
}

export const snapshotKey = (id: string): string => `${SNAPSHOTS_PREFIX}${id}`;
export const indexKey = (name: string): string => `${INDEX_PREFIX}${name}`;
export const keySlotKey = (id: string): string => `${KEYS_PREFIX}${id}`;
export const annotationKey = (snapshotId: string, name: string): string => `${ANNOTATIONS_PREFIX}${snapshotId}/${name}`;
