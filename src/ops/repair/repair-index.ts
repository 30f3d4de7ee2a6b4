/**
 * `restorable repair index`: rebuilds the index from the packs themselves.
 * Each pack carries an encrypted header listing its chunks (docs/format.md,
 * "Packs"), so a lost or damaged index can always be rebuilt. Writes one new
 * index file that supersedes every index file listed at the start, then
 * removes those (new index first, so a crash in between leaves duplicates,
 * which readers tolerate, never a gap). Holds the exclusive lock.
 */
import { IntegrityError } from "../../core/errors.js";
import { decodePackHeader, readPackHeaderLength, type PackEntry } from "../../core/pack.js";
import { mapLimit } from "../../core/concurrency.js";
import { indexKey, packKey } from "../../repo/layout.js";
import { RepoLock, type LockTiming } from "../../repo/lock.js";
import type { Repository } from "../../repo/repository.js";
import { listPacks } from "../verify/structure.js";

export interface RepairIndexResult {
  readonly packs: number;
  readonly chunks: number;
  /** Packs whose header could not be read: their chunks are lost to the index. */
  readonly damagedPacks: { readonly pack: string; readonly message: string }[];
  readonly newIndexFile: string | undefined;
  readonly removedIndexFiles: string[];
}

/** Rebuilds the index from pack headers. @throws LockedError, StoreError. */
export async function repairIndex(repo: Repository, options: { readonly lockTiming?: LockTiming } = {}): Promise<RepairIndexResult> {
  const lock = await RepoLock.acquire(repo, "exclusive", { purpose: "repair index", ...(options.lockTiming ? { timing: options.lockTiming } : {}) });
  try {
    const oldFiles = await repo.listIndexFiles();
    const packs = await listPacks(repo);
    const damagedPacks: { pack: string; message: string }[] = [];
    const found: { packId: Uint8Array; entries: PackEntry[] }[] = [];
    await mapLimit([...packs.entries()], 8, async ([pack, size]) => {
      try {
        const key = packKey(pack);
        if (size < 4) throw new IntegrityError("pack shorter than its trailer");
        const headerLength = readPackHeaderLength(await repo.store.get(key, { offset: size - 4, length: 4 }));
        if (headerLength + 4 > size) throw new IntegrityError(`header length ${headerLength} exceeds pack size ${size}`);
        const sealed = await repo.store.get(key, { offset: size - 4 - headerLength, length: headerLength });
        found.push({ packId: Buffer.from(pack, "hex"), entries: decodePackHeader(repo.keys.encKey, sealed, size) });
      } catch (err) {
        if (!(err instanceof IntegrityError)) throw err;
        damagedPacks.push({ pack, message: err.message });
      }
    });
    found.sort((a, b) => Buffer.compare(a.packId, b.packId));
    let newIndexFile: string | undefined;
    if (found.length) newIndexFile = (await repo.writeIndexFile(found, oldFiles)).name;
    await lock.assertFresh();
    await repo.store.deleteMany(oldFiles.map(indexKey));
    return {
      packs: found.length,
      chunks: found.reduce((n, p) => n + p.entries.length, 0),
      damagedPacks: damagedPacks.sort((a, b) => a.pack.localeCompare(b.pack)),
      newIndexFile,
      removedIndexFiles: oldFiles,
    };
  } finally {
    await lock.release();
  }
}

