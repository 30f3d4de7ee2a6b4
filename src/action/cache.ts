/**
 * The GitHub Actions cache, used for one thing only: the repository's local
 * index cache (src/repo/index-cache.ts), so a run against S3 does not
 * download every index file again. Index files are sealed (AES-256-GCM) in
 * the cache exactly as in the repository and are authenticated again on
 * every read, and the store's listing stays the authority on which exist.
 * Backup data, manifests, key slots and secrets never go into the cache:
 * anyone with read access to the repository, and pull requests, can read it.
 *
 * Keys: `restorable-index-v1-<repository id>-<digest of the index file
 * names>`, restored by exact key or, failing that, by the prefix of the
 * repository id. A miss is normal (first run, eviction after 7 days unused);
 * every cache failure is a note, never a failure of the action.
 */
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as actionsCache from "@actions/cache";
import type { Env } from "../ops/open.js";
import type { Repository } from "../repo/repository.js";

/** The calls made to the cache service (tests give a fake). */
export interface CacheBackend {
  available(): boolean;
  /** @returns the key that was restored, or undefined on a miss. */
  restore(paths: string[], key: string, restoreKeys: string[]): Promise<string | undefined>;
  save(paths: string[], key: string): Promise<void>;
}

/** `@actions/cache`: available when the runner provides the cache service (ACTIONS_CACHE_URL / ACTIONS_RESULTS_URL). */
export const githubCache: CacheBackend = {
  available: () => actionsCache.isFeatureAvailable(),
  restore: (paths, key, restoreKeys) => actionsCache.restoreCache(paths, key, restoreKeys),
  save: async (paths, key) => {
    await actionsCache.saveCache(paths, key);
  },
};

/** Prefix of every key of `repoId`. */
export function cacheKeyPrefix(repoId: string): string {
  return `restorable-index-v1-${repoId}-`;
}

/** The key for a set of index file names (order does not matter). */
export function cacheKey(repoId: string, indexFiles: readonly string[]): string {
  const digest = createHash("sha256").update([...indexFiles].sort().join("\n")).digest("hex").slice(0, 32);
  return cacheKeyPrefix(repoId) + digest;
}

/** Where the cache lives on the runner: `$RUNNER_TEMP/restorable-index-cache` (else the OS temporary folder). */
export function cacheRoot(env: Env): string {
  return join(env.RUNNER_TEMP || tmpdir(), "restorable-index-cache");
}

/** What happened, for the job summary. */
export interface CacheReport {
  /** `hit` (exact key), `partial` (an older set of index files), `miss`, or `off` (disabled or no cache service). */
  restored: "hit" | "partial" | "miss" | "off";
  /** True when a new entry was saved after the run. */
  saved: boolean;
  notes: string[];
}

/**
 * Restores the index cache of `repo` and points the repository at it.
 * @returns a handle whose `save()` stores the cache again after the run when the set of index files changed.
 *   Never throws: failures become notes.
 */
export async function attachIndexCache(repo: Repository, env: Env, backend: CacheBackend = githubCache): Promise<{ report: CacheReport; save(): Promise<void> }> {
  const report: CacheReport = { restored: "off", saved: false, notes: [] };
  if (!backend.available()) {
    report.notes.push("no cache service on this runner: the index is read from the repository");
    return { report, save: async () => undefined };
  }
  const root = cacheRoot(env);
  const dir = join(root, repo.config.id);
  let restoredKey: string | undefined;
  try {
    const key = cacheKey(repo.config.id, await repo.listIndexFiles());
    restoredKey = await backend.restore([dir], key, [cacheKeyPrefix(repo.config.id)]);
    report.restored = restoredKey === undefined ? "miss" : restoredKey === key ? "hit" : "partial";
  } catch (err) {
    report.restored = "miss";
    report.notes.push(`index cache not restored: ${(err as Error).message}`);
  }
  repo.useIndexCache(root);
  return {
    report,
    save: async () => {
      try {
        const key = cacheKey(repo.config.id, await repo.listIndexFiles());
        if (key === restoredKey) return;
        await backend.save([dir], key);
        report.saved = true;
      } catch (err) {
        report.notes.push(`index cache not saved: ${(err as Error).message}`);
      }
    },
  };
}
