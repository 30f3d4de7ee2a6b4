/**
 * Which snapshots the verify action checks (`snapshot`: a selector, or
 * `all`), and the newest snapshot carrying the tags, for the freshness check.
 */
import type { SnapshotManifest } from "../../core/manifest.js";
import { parseSnapshotId } from "../../core/snapshot-id.js";
import { selectSnapshot } from "../../ops/select.js";
import type { Repository } from "../../repo/repository.js";

/**
 * @returns the manifests to verify (oldest first) and the newest snapshot (id and time) among those with `tags`.
 * @throws ConfigError (bad selector), NotFoundError (no snapshot matches a selector other than `all`).
 */
export async function selectForVerify(repo: Repository, selector: string, tags: readonly string[]): Promise<{ manifests: SnapshotManifest[]; newest?: { id: string; timeMs: number } }> {
  if (selector === "all" || tags.length > 0) {
    const all = (await repo.listSnapshots()).filter((m) => tags.every((t) => m.tags.includes(t)));
    const last = all.at(-1);
    const newest = last ? { id: last.id, timeMs: last.timeMs } : undefined;
    if (selector === "all") return { manifests: all, ...(newest ? { newest } : {}) };
    return { manifests: [await selectSnapshot(repo, selector, tags)], ...(newest ? { newest } : {}) };
  }
  const lastId = (await repo.listSnapshotIds()).at(-1);
  const newest = lastId ? { id: lastId, timeMs: parseSnapshotId(lastId).timeMs } : undefined;
  if (!newest && selector === "latest") return { manifests: [] };
  return { manifests: [await selectSnapshot(repo, selector)], ...(newest ? { newest } : {}) };
}
