/**
 * Prune: plan, then execute, under the exclusive lock (docs/format.md,
 * "Prune"). Execution order, so a kill at any point leaves a repository
 * that verifies and that the next prune finishes:
 *   1. remove the forgotten manifests, then their annotations;
 *   2. copy the used chunks of mostly-unused packs into new packs (+ their index file);
 *   3. write one index file for every pack that stays, superseding the old index files;
 *   4. check the lock is still ours (fencing), remove the old index files;
 *   5. remove the unused, repacked and old orphan packs.
 * Nothing a kept snapshot needs is removed before its new home is indexed.
 */
import { performance } from "node:perf_hooks";
import { toHex } from "../../core/crypto.js";
import type { PackEntry } from "../../core/pack.js";
import { indexKey, packKey, snapshotKey } from "../../repo/layout.js";
import { RepoLock, unlock, type LockTiming } from "../../repo/lock.js";
import type { Repository } from "../../repo/repository.js";
import { planPrune, type PruneOptions, type PrunePlan } from "./plan.js";
import { REPACK_POOL_MIN_BYTES, repackChunks, type RepackChunk } from "./repack.js";

export interface PruneResult {
  readonly plan: PrunePlan;
  /** False for a dry run. */
  readonly executed: boolean;
  readonly forgotten: number;
  readonly packsDeleted: number;
  readonly packsWritten: number;
  readonly indexFilesRemoved: number;
  readonly durationMs: number;
}

export interface PruneRunOptions extends PruneOptions {
  readonly dryRun?: boolean;
  /** False: only forget snapshots (step 1), leave the data for a later prune. Default true. */
  readonly removeData?: boolean;
  readonly lockTiming?: LockTiming;
  /** Wait this long (ms) for conflicting locks; default 0. */
  readonly lockWaitMs?: number;
  /** Called before each execution step (tests use it to kill or pause at a chosen point). */
  readonly onStep?: (step: "forget" | "repack" | "index" | "remove-index" | "remove-packs") => void | Promise<void>;
}

/**
 * Plans and (unless `dryRun`) executes a prune.
 * @throws LockedError when another process holds a lock; ConfigError / NotFoundError / IntegrityError from planning.
 */
export async function prune(repo: Repository, options: PruneRunOptions = {}): Promise<PruneResult> {
  const started = performance.now();
  const lock = await RepoLock.acquire(repo, "exclusive", {
    purpose: options.dryRun ? "prune --dry-run" : "prune",
    ...(options.lockTiming ? { timing: options.lockTiming } : {}),
    ...(options.lockWaitMs ? { waitMs: options.lockWaitMs } : {}),
  });
  try {
    // Holding the exclusive lock, stale locks are known dead: remove them (a paused writer whose lock
    // this removes aborts at its fencing check).
    if (!options.dryRun) await unlock(repo, { ...(options.lockTiming ? { timing: options.lockTiming } : {}) });
    const plan = await planPrune(repo, options);
    if (options.dryRun) return { plan, executed: false, forgotten: 0, packsDeleted: 0, packsWritten: 0, indexFilesRemoved: 0, durationMs: Math.round(performance.now() - started) };
    const done = await executePrune(repo, plan, lock, options.onStep, options.removeData ?? true);
    return { plan, executed: true, ...done, durationMs: Math.round(performance.now() - started) };
  } finally {
    await lock.release();
  }
}

async function executePrune(repo: Repository, plan: PrunePlan, lock: RepoLock, onStep: PruneRunOptions["onStep"], removeData: boolean): Promise<Omit<PruneResult, "plan" | "executed" | "durationMs">> {
  // 1. forget
  await onStep?.("forget");
  // Every forgotten manifest in one batch (`deleteMany` returns once the removals are durable: the barrier before
  // the next step), then their annotations, also in one batch. Manifests first: a prune killed in
  // between leaves annotations of snapshots that are gone (ignored by everyone), never a snapshot that still
  // exists but lost its pin or its verify and drill results.
  await repo.store.deleteMany(plan.forget.map((d) => snapshotKey(d.id)));
  await repo.store.deleteMany(plan.annotationKeys);
  if (!removeData) return { forgotten: plan.forget.length, packsDeleted: 0, packsWritten: 0, indexFilesRemoved: 0 };
  // 2. repack
  await onStep?.("repack");
  const repack = new Set(plan.repackPacks.map((p) => p.pack));
  const drop = new Set([...plan.deletePacks.map((p) => p.pack), ...repack]);
  const orphans = new Set(plan.orphanPacks.map((p) => p.pack));
  // One pass over the index: the chunks to copy (step 2) and the entries of the packs that stay (step 3).
  const chunks: RepackChunk[] = [];
  const byPack = new Map<number, { packId: Uint8Array; entries: PackEntry[] }>();
  const { index } = plan;
  const packHex = index.packIds().map(toHex);
  for (let e = 0; e < index.size; e++) {
    const p = index.packOfEntry(e);
    const pack = packHex[p]!;
    const loc = index.locationOfEntry(e);
    if (repack.has(pack) && plan.usedEntries[e]) chunks.push({ id: toHex(index.idOfEntry(e)), loc });
    if (drop.has(pack) || orphans.has(pack)) continue;
    let group = byPack.get(p);
    if (!group) byPack.set(p, (group = { packId: loc.packId, entries: [] }));
    group.entries.push({ id: index.idOfEntry(e).slice(), kind: loc.kind, frameOffset: loc.frameOffset, frameLength: loc.frameLength, innerOffset: loc.innerOffset, length: loc.length });
  }
  const packsWritten = chunks.length ? await repackChunks(repo, chunks, { workers: plan.stats.bytesRepacked >= REPACK_POOL_MIN_BYTES }) : 0;
  // 3. one index file for the packs that stay
  await onStep?.("index");
  if (byPack.size || plan.indexFiles.length) await repo.writeIndexFile([...byPack.values()], plan.indexFiles);
  // 4. the old index files
  await onStep?.("remove-index");
  await lock.assertFresh();
  await repo.store.deleteMany(plan.indexFiles.map(indexKey));
  // 5. the packs nobody needs
  await onStep?.("remove-packs");
  await lock.assertFresh();
  const victims = [...drop, ...orphans];
  await repo.store.deleteMany(victims.map(packKey));
  return { forgotten: plan.forget.length, packsDeleted: victims.length, packsWritten, indexFilesRemoved: plan.indexFiles.length };
}
