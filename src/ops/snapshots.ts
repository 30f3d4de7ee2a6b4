/**
 * `restorable snapshots`: one row per snapshot, from its manifest and its
 * annotations (the newest verify and drill results, the pin state).
 */
import type { SnapshotManifest } from "../core/manifest.js";
import { latestOf, listAnnotations, type Annotation } from "../repo/annotations.js";
import type { Repository } from "../repo/repository.js";

/** The newest result of a verify or drill, or null when there was none. */
export interface CheckResult {
  readonly ok: boolean;
  /** When it ran (ISO 8601). */
  readonly at: string;
  /** `structure`, `read-data`, `read-data-subset`, with `+semantic`; undefined for drills. */
  readonly level?: string;
  readonly summary?: string;
}

/** One row of `snapshots`. Times ISO 8601, sizes in bytes. */
export interface SnapshotRow {
  readonly id: string;
  readonly time: string;
  readonly host: string;
  readonly tags: readonly string[];
  readonly sources: readonly string[];
  readonly files: number;
  /** Total size of the regular files. */
  readonly bytes: number;
  /** Stored bytes this snapshot added (after dedup and compression). */
  readonly bytesAdded: number;
  readonly verify: CheckResult | null;
  readonly drill: CheckResult | null;
  readonly pinned: boolean;
}

function check(a: Annotation | undefined): CheckResult | null {
  if (!a) return null;
  return { ok: a.ok ?? false, at: a.at, ...(a.level ? { level: a.level } : {}), ...(a.summary ? { summary: a.summary } : {}) };
}

/** The row of one manifest given its annotations (oldest first). */
export function snapshotRow(m: SnapshotManifest, annotations: readonly Annotation[] | undefined): SnapshotRow {
  const pin = annotations?.filter((a) => a.type === "pin" || a.type === "unpin").at(-1);
  return {
    id: m.id, time: m.time, host: m.host, tags: m.tags, sources: m.sources.map((s) => s.name),
    files: m.stats.files, bytes: m.stats.bytes, bytesAdded: m.stats.bytesAdded,
    verify: check(latestOf(annotations, "verify")), drill: check(latestOf(annotations, "drill")),
    pinned: pin?.type === "pin",
  };
}

/**
 * Every snapshot, oldest first, keeping those that carry all of `tags`.
 * @returns the rows and the keys of annotations that failed authentication (skipped, never hiding a snapshot).
 */
export async function listSnapshotRows(repo: Repository, options: { readonly tags?: readonly string[] } = {}): Promise<{ rows: SnapshotRow[]; damagedAnnotations: string[] }> {
  const tags = options.tags ?? [];
  const [manifests, annotations] = await Promise.all([repo.listSnapshots(), listAnnotations(repo)]);
  const rows = manifests
    .filter((m) => tags.every((t) => m.tags.includes(t)))
    .map((m) => snapshotRow(m, annotations.bySnapshot.get(m.id)));
  return { rows, damagedAnnotations: annotations.damaged };
}
