/**
 * Snapshot selection for commands that take a SNAPSHOT argument: the
 * selector grammar and its resolution live in core/snapshot-id.ts; this
 * loads only what is needed (ids alone when no tag filter or time bound
 * applies, since an id carries its time).
 */
import type { SnapshotManifest } from "../core/manifest.js";
import { parseSelector, parseSnapshotId, resolveSelector } from "../core/snapshot-id.js";
import type { Repository } from "../repo/repository.js";

/**
 * The manifest `text` names (`latest`, `latest-before:<ISO time>`, an id or unique id prefix),
 * among snapshots carrying every tag in `tags`.
 * @throws ConfigError (bad selector, ambiguous prefix), NotFoundError (no match; the message lists the nearest ids).
 */
export async function selectSnapshot(repo: Repository, text: string, tags: readonly string[] = []): Promise<SnapshotManifest> {
  const selector = parseSelector(text);
  // Ids carry their time to the second; `latest-before` compares the manifests' exact times.
  if (tags.length > 0 || selector.kind === "latest-before") return resolveSelector(selector, await repo.listSnapshots(), { tags });
  const ids = (await repo.listSnapshotIds()).map((id) => ({ id, timeMs: parseSnapshotId(id).timeMs, tags: [] as string[] }));
  return repo.loadManifest(resolveSelector(selector, ids).id);
}
