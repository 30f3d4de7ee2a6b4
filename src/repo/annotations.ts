/**
 * Annotations: small encrypted objects attached to a snapshot after it was
 * committed (a verify result, a drill result, a pin), at
 * `annotations/<snapshot id>/<time>-<random>`. Append-only: a newer
 * annotation supersedes an older one of the same type; nothing is rewritten.
 * Only the main process writes them (a drill's sandbox never can).
 */
import { random, toHex } from "../core/crypto.js";
import { openJson, sealJson } from "../core/envelope.js";
import { IntegrityError } from "../core/errors.js";
import { ANNOTATIONS_PREFIX, annotationKey } from "./layout.js";
import type { Repository } from "./repository.js";

/** What an annotation says. Times are ISO 8601. */
export interface Annotation {
  readonly type: "verify" | "drill" | "pin" | "unpin";
  readonly at: string;
  /** For verify and drill: did it pass. */
  readonly ok?: boolean;
  /** For verify: `structure`, `read-data`, `read-data-subset`, plus semantic checks. */
  readonly level?: string;
  /** One line for `snapshots`. */
  readonly summary?: string;
  /** Machine-readable details (durations in ms, counts). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Stores an annotation on `snapshotId`. */
export async function addAnnotation(repo: Repository, snapshotId: string, annotation: Annotation): Promise<string> {
  const name = `${annotation.at.replace(/[-:.]/g, "")}-${toHex(random(4))}`;
  const key = annotationKey(snapshotId, name);
  await repo.store.put(key, sealJson(repo.keys.encKey, "annotation", annotation), { ifNoneMatch: true });
  return key;
}

/**
 * Every annotation, grouped by snapshot id, oldest first. Damaged annotations
 * are skipped and reported in `damaged` (they never hide a snapshot).
 */
export async function listAnnotations(repo: Repository): Promise<{ bySnapshot: Map<string, Annotation[]>; damaged: string[] }> {
  const objects = await repo.store.list(ANNOTATIONS_PREFIX);
  const bySnapshot = new Map<string, Annotation[]>();
  const damaged: string[] = [];
  for (const o of objects) {
    const [snapshotId] = o.key.slice(ANNOTATIONS_PREFIX.length).split("/");
    if (!snapshotId) continue;
    try {
      const a = openJson<Annotation>(repo.keys.encKey, "annotation", await repo.store.get(o.key), o.key);
      const list = bySnapshot.get(snapshotId) ?? [];
      list.push(a);
      bySnapshot.set(snapshotId, list);
    } catch (err) {
      if (err instanceof IntegrityError) damaged.push(o.key);
      else throw err;
    }
  }
  for (const list of bySnapshot.values()) list.sort((a, b) => a.at.localeCompare(b.at));
  return { bySnapshot, damaged };
}

/** The newest annotation of `type` in `list`, if any. */
export function latestOf(list: readonly Annotation[] | undefined, type: Annotation["type"]): Annotation | undefined {
  return list?.filter((a) => a.type === type).at(-1);
}
