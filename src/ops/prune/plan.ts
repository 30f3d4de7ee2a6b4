/**
 * Planning a prune (docs/retention.md, docs/format.md "Prune"): which
 * snapshots the retention policy forgets and why, which packs become
 * unused, which are worth repacking, and which orphan packs are old enough
 * to delete. Planning reads only; `executePrune` does the writes.
 */
import { mapLimit } from "../../core/concurrency.js";
import { fromHex, toHex } from "../../core/crypto.js";
import { ConfigError, IntegrityError, NotFoundError } from "../../core/errors.js";
import type { ChunkIndex } from "../../core/index-codec.js";
import type { SnapshotManifest } from "../../core/manifest.js";
import { PROTECTED_REASONS, applyPolicy, type RetentionDecision, type RetentionPolicy } from "../../core/retention.js";
import { listAnnotations, type Annotation } from "../../repo/annotations.js";
import { ChunkReader } from "../../repo/chunk-reader.js";
import { DATA_PREFIX, packIdFromKey } from "../../repo/layout.js";
import type { Repository } from "../../repo/repository.js";
import { usedBlobs } from "./used-blobs.js";

export interface PruneOptions {
  /** Retention policy; without one, no snapshot is forgotten (only unreferenced data is removed). */
  readonly policy?: RetentionPolicy;
  /** Snapshots to forget by id, in addition to the policy. */
  readonly forget?: readonly string[];
  /** Forget protected snapshots named in `forget` too. */
  readonly force?: boolean;
  /** Accept a policy that keeps nothing (protected snapshots still stay). */
  readonly allowEmpty?: boolean;
  /** Repack a pack when more than this share (0-1) of its bytes is unused; default 0.05. */
  readonly maxUnused?: number;
  /** Orphan packs (in no index) younger than this are left alone (ms; default 1 h): they may belong to a snapshot in flight. */
  readonly graceMs?: number;
  /** Clock, for tests (ms). */
  readonly now?: number;
}

export interface PackPlan {
  /** Hex id, bytes in storage, and the share of its chunk bytes still used. */
  readonly pack: string;
  readonly size: number;
  readonly usedShare: number;
}

export interface PrunePlan {
  readonly keep: readonly RetentionDecision[];
  readonly forget: readonly RetentionDecision[];
  /** Keys of the forgotten snapshots' annotation objects (as listed while planning): removed with them. */
  readonly annotationKeys: readonly string[];
  /** Packs no kept snapshot uses: deleted. */
  readonly deletePacks: readonly PackPlan[];
  /** Packs partly used above `maxUnused`: their used chunks are copied to new packs, then deleted. */
  readonly repackPacks: readonly PackPlan[];
  /** Packs in storage that no index lists and that are older than the grace period: deleted. */
  readonly orphanPacks: readonly PackPlan[];
  /** Packs with unused data (or in no index) that are younger than the grace period: left for a later prune. */
  readonly youngPacks: number;
  /** Index files the new index replaces. */
  readonly indexFiles: readonly string[];
  readonly stats: {
    readonly packsTotal: number;
    readonly bytesTotal: number;
    readonly bytesFreed: number;
    readonly bytesRepacked: number;
  };
  /** Per index entry (`index.entryOf`): 1 when the kept snapshots use it, for the executor. */
  readonly usedEntries: Uint8Array;
  readonly index: ChunkIndex;
  readonly manifests: readonly SnapshotManifest[];
}

/**
 * Plans a prune.
 * @throws ConfigError (a policy that keeps nothing without allowEmpty; a protected snapshot in `forget` without force;
 *   an unknown id in `forget`), IntegrityError when a kept snapshot references a missing blob or pack: prune then
 *   deletes nothing and points to `verify` and `repair index`.
 */
export async function planPrune(repo: Repository, options: PruneOptions = {}): Promise<PrunePlan> {
  const now = options.now ?? Date.now();
  // Reads happen in the same order as ever (manifests, then the index, then the pack listing), each step's
  // independent reads at the same time: a snapshot committed between two steps is either not seen at all or seen
  // with its index, never the other way round (which would make the plan refuse for data it cannot find).
  const [manifests, annotations] = await Promise.all([loadManifests(repo), listAnnotations(repo)]);
  const { keep, forget } = decide(manifests, annotations.bySnapshot, options);
  const forgetIds = new Set(forget.map((d) => d.id));
  const kept = manifests.filter((m) => !forgetIds.has(m.id));
  const annotationKeys = [...forgetIds].flatMap((id) => annotations.keys.get(id) ?? []);

  const { index, files } = await repo.loadIndex();
  const [used, listedPacks] = await Promise.all([usedBlobs(new ChunkReader(repo, index), kept), repo.store.list(DATA_PREFIX)]);
  const present = new Map<string, { size: number; lastModified: number }>();
  for (const o of listedPacks) {
    const id = packIdFromKey(o.key);
    if (id) present.set(id, { size: o.size, lastModified: o.lastModified });
  }
  // Every used blob must be indexed and its pack present, or deleting anything could lose the last copy of data.
  // Entries and packs by number from here on: a hex string per index entry cost tens of ms per 100,000 entries.
  const packHex = index.packIds().map(toHex);
  const usedEntries = new Uint8Array(index.size);
  const missing: string[] = [];
  for (const id of used) {
    const e = index.entryOf(fromHex(id));
    if (e < 0) missing.push(`chunk ${id} is not in the index`);
    else if (!present.has(packHex[index.packOfEntry(e)]!)) missing.push(`pack ${packHex[index.packOfEntry(e)]!} is missing`);
    else usedEntries[e] = 1;
    if (missing.length >= 5) break;
  }
  if (missing.length) {
    throw new IntegrityError(`refusing to prune: the kept snapshots reference data that is not there (${[...new Set(missing)].join("; ")}); run \`restorable verify\` to see which snapshots are damaged and \`restorable repair index\` if packs were only unindexed`, { missing });
  }

  const total = new Float64Array(packHex.length);
  const usedBytes = new Float64Array(packHex.length);
  for (let e = 0; e < index.size; e++) {
    const p = index.packOfEntry(e);
    const length = index.lengthOfEntry(e);
    total[p]! += length;
    if (usedEntries[e]) usedBytes[p]! += length;
  }
  const perPack = new Map<string, { total: number; used: number }>(packHex.map((pack, p) => [pack, { total: total[p]!, used: usedBytes[p]! }]));
  const maxUnused = options.maxUnused ?? 0.05;
  const graceMs = options.graceMs ?? 60 * 60_000;
  // A pack younger than the grace period is never deleted or repacked: it may belong to a snapshot in flight.
  const old = (stored: { lastModified: number }): boolean => now - stored.lastModified >= graceMs;
  const deletePacks: PackPlan[] = [];
  const repackPacks: PackPlan[] = [];
  let youngPacks = 0;
  let bytesTotal = 0;
  for (const [pack, acc] of perPack) {
    const stored = present.get(pack);
    if (!stored) continue; // indexed but gone: nothing to delete (and unused, or we would have refused above)
    bytesTotal += stored.size;
    const usedShare = acc.total ? acc.used / acc.total : 0;
    if (acc.used < acc.total && !old(stored)) youngPacks++;
    else if (acc.used === 0) deletePacks.push({ pack, size: stored.size, usedShare });
    else if (1 - usedShare > maxUnused) repackPacks.push({ pack, size: stored.size, usedShare });
  }
  const orphanPacks: PackPlan[] = [];
  for (const [pack, stored] of present) {
    if (perPack.has(pack)) continue;
    bytesTotal += stored.size;
    if (old(stored)) orphanPacks.push({ pack, size: stored.size, usedShare: 0 });
    else youngPacks++;
  }
  const sum = (list: readonly PackPlan[]): number => list.reduce((n, p) => n + p.size, 0);
  return {
    keep, forget, annotationKeys, deletePacks, repackPacks, orphanPacks, youngPacks, indexFiles: files,
    stats: {
      packsTotal: present.size, bytesTotal,
      bytesFreed: sum(deletePacks) + sum(orphanPacks) + Math.round(repackPacks.reduce((n, p) => n + p.size * (1 - p.usedShare), 0)),
      bytesRepacked: Math.round(repackPacks.reduce((n, p) => n + p.size * p.usedShare, 0)),
    },
    usedEntries, index, manifests: kept,
  };
}

/** How many manifests `loadManifests` reads at once (small objects; one round trip or file open each). */
const MANIFEST_CONCURRENCY = 32;

/** Every snapshot manifest, oldest first (as `Repository.listSnapshots`, with more reads in flight). */
async function loadManifests(repo: Repository): Promise<SnapshotManifest[]> {
  const ids = await repo.listSnapshotIds();
  return mapLimit(ids, MANIFEST_CONCURRENCY, (id) => repo.loadManifest(id));
}

function decide(manifests: readonly SnapshotManifest[], annotations: Map<string, Annotation[]>, options: PruneOptions): { keep: RetentionDecision[]; forget: RetentionDecision[] } {
  let keep: RetentionDecision[];
  let forget: RetentionDecision[];
  if (options.policy) {
    const plan = applyPolicy(manifests, options.policy, annotations, { ...(options.allowEmpty ? { allowEmpty: true } : {}) });
    keep = [...plan.keep];
    forget = [...plan.remove];
  } else {
    // No policy: keep everything, but learn which snapshots are protected (for forget by name).
    const plan = applyPolicy(manifests, {}, annotations, { allowEmpty: true });
    keep = [...plan.keep, ...plan.remove.map((d) => ({ ...d, reasons: ["no retention policy"] }))];
    forget = [];
  }
  for (const id of options.forget ?? []) {
    const i = keep.findIndex((d) => d.id === id);
    if (i < 0) {
      if (forget.some((d) => d.id === id)) continue;
      throw new NotFoundError(`no snapshot ${id} to forget`, { snapshot: id });
    }
    const d = keep[i]!;
    const protectedBy = d.reasons.filter((r) => (Object.values(PROTECTED_REASONS) as string[]).includes(r));
    if (protectedBy.length && !options.force) {
      throw new ConfigError(`snapshot ${id} is protected (${protectedBy.join(", ")}); forget it with --force`, { snapshot: id });
    }
    keep.splice(i, 1);
    forget.push({ id, group: d.group, reasons: ["forgotten by name"] });
  }
  return { keep, forget };
}
