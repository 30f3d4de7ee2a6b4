/**
 * `restorable key`: list, add, remove key slots, and change the password
 * (add a new password slot, then remove the slot that opened the
 * repository). Key changes hold a shared lock (docs/format.md, "Locks"), so
 * they never run during an exclusive operation such as prune.
 */
import { KEY_BYTES, random } from "../core/crypto.js";
import type { KeySlot, Secret } from "../core/keyslot.js";
import { RepoLock, type LockTiming } from "../repo/lock.js";
import type { Repository } from "../repo/repository.js";

/** One key slot as `key list` shows it (no secret material). */
export interface KeyRow {
  readonly id: string;
  readonly kind: "password" | "raw";
  readonly label: string | null;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly host: string;
  /** True for the slot that opened the repository in this run. */
  readonly current: boolean;
}

/** Options for slots created here. */
export interface NewSlotOptions {
  readonly label?: string;
  /** scrypt cost of a new password slot (tests lower it; default in core/crypto.ts). */
  readonly scryptN?: number;
  readonly lockTiming?: LockTiming;
}

function row(repo: Repository, s: KeySlot): KeyRow {
  return { id: s.id, kind: s.kind, label: s.label ?? null, createdAt: s.createdAt, host: s.host, current: s.id === repo.slot.id };
}

async function withSharedLock<T>(repo: Repository, purpose: string, timing: LockTiming | undefined, fn: () => Promise<T>): Promise<T> {
  const lock = await RepoLock.acquire(repo, "shared", { purpose, ...(timing ? { timing } : {}) });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** Every key slot, oldest first. */
export async function listKeys(repo: Repository): Promise<KeyRow[]> {
  return (await repo.listKeySlots()).map((s) => row(repo, s)).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/** A new random raw key (32 bytes) for `key add --generate-key`. */
export function generateRawKey(): Uint8Array {
  return random(KEY_BYTES);
}

/** Adds a slot opened by `secret`. @throws LockedError, StoreError. */
export async function addKey(repo: Repository, secret: Secret, options: NewSlotOptions = {}): Promise<KeyRow> {
  return withSharedLock(repo, "key add", options.lockTiming, async () => row(repo, await repo.addKeySlot(secret, options.label, options.scryptN)));
}

/**
 * Removes the slot `id`.
 * @throws NotFoundError (no such slot), ConfigError (the last slot, or the slot in use), LockedError.
 */
export async function removeKey(repo: Repository, id: string, options: { readonly lockTiming?: LockTiming } = {}): Promise<void> {
  await withSharedLock(repo, "key remove", options.lockTiming, () => repo.removeKeySlot(id));
}

/**
 * Changes the password: adds a password slot for `newPassword`, then removes the slot that opened the repository.
 * The new slot is written before the old one goes, so a crash in between leaves both, never neither.
 * @returns the new slot and the id of the removed one.
 */
export async function changePassword(repo: Repository, newPassword: string, options: NewSlotOptions = {}): Promise<{ added: KeyRow; removed: string }> {
  return withSharedLock(repo, "key passwd", options.lockTiming, async () => {
    const added = row(repo, await repo.addKeySlot({ kind: "password", password: newPassword }, options.label ?? repo.slot.label, options.scryptN));
    await repo.removeKeySlot(repo.slot.id, true);
    return { added, removed: repo.slot.id };
  });
}
