/**
 * Annotations: small encrypted objects attached to a snapshot after it was
 * committed (a verify result, a drill result, a pin), at
 * `annotations/<snapshot id>/<time>-<random>`. Append-only: a newer
 * annotation supersedes an older one of the same type; nothing is rewritten.
 * Only the main process writes them (a drill's sandbox never can).
 */
import { random, toHex } from "../core/crypto.js";
import { openJson, sealJson } from "../core/envelope.js";
import { mapLimit } from "../core/concurrency.js";
import { IntegrityError, NotFoundError } from "../core/errors.js";
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
 * How many annotation objects `listAnnotations` reads at once. They are small (a few hundred bytes) and a
 * repository holds one or two per snapshot, so a thousand snapshots mean about two thousand reads: one at a time
 * that is two thousand round trips (S3) or file opens (local) in a row.
 */
const READ_CONCURRENCY = 32;

/**
 * Every annotation, grouped by snapshot id, oldest first. Damaged annotations
 * are skipped and reported in `damaged` (they never hide a snapshot).
 * `keys` maps each snapshot id to the keys of its annotation objects (damaged ones included), for callers that
 * remove a snapshot's annotations (prune). Reads up to READ_CONCURRENCY objects at once.
 * @throws StoreError when listing or reading fails (a missing object that was listed is skipped: removed meanwhile).
 */
export async function listAnnotations(repo: Repository): Promise<{ bySnapshot: Map<string, Annotation[]>; damaged: string[]; keys: Map<string, string[]> }> {
  const objects = (await repo.store.listKeys(ANNOTATIONS_PREFIX)).flatMap((key) => {
    const [snapshotId] = key.slice(ANNOTATIONS_PREFIX.length).split("/");
    return snapshotId ? [{ key, snapshotId }] : [];
  });
  const bySnapshot = new Map<string, Annotation[]>();
  const keys = new Map<string, string[]>();
  const damaged: string[] = [];
  const read = await mapLimit(objects, READ_CONCURRENCY, async (o): Promise<Annotation | "damaged" | undefined> => {
    try {
      return openJson<Annotation>(repo.keys.encKey, "annotation", await repo.store.get(o.key), o.key);
    } catch (err) {
      if (err instanceof IntegrityError) return "damaged";
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  });
  objects.forEach(({ key, snapshotId }, i) => {
    const a = read[i];
    if (a === undefined) return;
    const own = keys.get(snapshotId) ?? [];
    own.push(key);
    keys.set(snapshotId, own);
    if (a === "damaged") {
      damaged.push(key);
      return;
    }
    const list = bySnapshot.get(snapshotId) ?? [];
    list.push(a);
    bySnapshot.set(snapshotId, list);
  });
  for (const list of bySnapshot.values()) list.sort((a, b) => a.at.localeCompare(b.at));
  return { bySnapshot, damaged, keys };
}

/** The newest annotation of `type` in `list`, if any. */
export function latestOf(list: readonly Annotation[] | undefined, type: Annotation["type"]): Annotation | undefined {
  return list?.filter((a) => a.type === type).at(-1);
}
