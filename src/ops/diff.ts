/**
 * `restorable diff`: what changed between two snapshots, entry by entry
 * (`SOURCE/path`): added, removed, and modified by content (SHA-256 of a
 * file, target of a symlink), type or permission bits. Times, owners and
 * sizes alone do not count (a size change always comes with a content change).
 */
import type { SnapshotManifest } from "../core/manifest.js";
import { ChunkReader } from "../repo/chunk-reader.js";
import type { Repository } from "../repo/repository.js";
import { readSnapshotEntries, toLsEntry, type LsEntry, type SnapshotEntry } from "./ls.js";

/** What differs in a modified entry. */
export type Change = "content" | "type" | "mode";

export interface ModifiedEntry {
  readonly path: string;
  readonly changes: readonly Change[];
  readonly before: LsEntry;
  readonly after: LsEntry;
}

/** The difference from snapshot `from` to snapshot `to`; lists are sorted by path. */
export interface DiffResult {
  readonly from: string;
  readonly to: string;
  readonly added: LsEntry[];
  readonly removed: LsEntry[];
  readonly modified: ModifiedEntry[];
}

/** The changes between two versions of one entry (empty when equal). */
export function entryChanges(a: SnapshotEntry["entry"], b: SnapshotEntry["entry"]): Change[] {
  const out: Change[] = [];
  if (a.t !== b.t) out.push("type");
  else if ((a.t === "f" && a.h !== b.h) || (a.t === "l" && a.l !== b.l)) out.push("content");
  if ((a.m & 0o7777) !== (b.m & 0o7777)) out.push("mode");
  return out;
}

/**
 * Compares two snapshots.
 * @throws IntegrityError when a listing is missing or damaged.
 */
export async function diffSnapshots(repo: Repository, from: SnapshotManifest, to: SnapshotManifest): Promise<DiffResult> {
  const { index } = await repo.loadIndex();
  const reader = new ChunkReader(repo, index);
  const before = new Map((await readSnapshotEntries(reader, from)).map((e) => [e.path, e]));
  const after = new Map((await readSnapshotEntries(reader, to)).map((e) => [e.path, e]));
  const added: LsEntry[] = [];
  const removed: LsEntry[] = [];
  const modified: ModifiedEntry[] = [];
  for (const [path, b] of after) {
    const a = before.get(path);
    if (!a) added.push(toLsEntry(b));
    else {
      const changes = entryChanges(a.entry, b.entry);
      if (changes.length) modified.push({ path, changes, before: toLsEntry(a), after: toLsEntry(b) });
    }
  }
  for (const [path, a] of before) if (!after.has(path)) removed.push(toLsEntry(a));
  const byPath = (x: { path: string }, y: { path: string }): number => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0);
  return { from: from.id, to: to.id, added: added.sort(byPath), removed: removed.sort(byPath), modified: modified.sort(byPath) };
}
