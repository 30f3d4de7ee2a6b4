/**
 * Restores a snapshot into a sandbox folder, through a repository whose
 * store refuses every write (ReadOnlyStore, see Repository.readOnlyView):
 * source NAME lands in `<sandbox>/restored/NAME`, then moves to the path
 * the drill configured for it (`drill.sources.NAME.path`), if any.
 */
import { mkdir, rename } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { InterruptedError } from "../core/errors.js";
import type { SnapshotManifest } from "../core/manifest.js";
import { restore } from "../ops/restore/restore.js";
import type { Repository } from "../repo/repository.js";

/** Where one source went. */
export interface PlacedSource {
  readonly name: string;
  readonly kind: string;
  /** Absolute path of the restored source in the sandbox. */
  readonly path: string;
  /** Environment variable that receives `path`, if configured. */
  readonly env?: string;
  /** Entries and regular-file bytes of the source in the snapshot. */
  readonly entries: number;
  readonly bytes: number;
}

/** Result of {@link restoreIntoSandbox}. Bytes are bytes, durations ms. */
export interface SandboxRestore {
  readonly sources: readonly PlacedSource[];
  readonly files: number;
  readonly bytes: number;
  readonly durationMs: number;
}

/**
 * Restores `manifest` into `sandbox` and places each source.
 * @param placements per source name: a path relative to the sandbox and/or an env variable name.
 * @throws InterruptedError when `signal` aborts (checked after each restored file), and what restore() throws.
 */
export async function restoreIntoSandbox(
  repo: Repository,
  manifest: SnapshotManifest,
  sandbox: string,
  placements: Readonly<Record<string, { readonly path?: string; readonly env?: string }>>,
  signal?: AbortSignal,
): Promise<SandboxRestore> {
  const target = join(sandbox, "restored");
  if (signal?.aborted) throw new InterruptedError("drill interrupted before the restore");
  const r = await restore(repo, manifest, {
    target,
    onProgress: () => {
      if (signal?.aborted) throw new InterruptedError("drill interrupted during the restore");
    },
  });
  if (signal?.aborted) throw new InterruptedError("drill interrupted after the restore");
  const sources: PlacedSource[] = [];
  for (const s of manifest.sources) {
    const place = placements[s.name];
    let path = join(target, s.name);
    if (place?.path) {
      const dest = resolve(sandbox, place.path);
      await mkdir(dirname(dest), { recursive: true });
      await rename(path, dest);
      path = dest;
    }
    sources.push({ name: s.name, kind: s.kind, path, ...(place?.env ? { env: place.env } : {}), entries: s.entries, bytes: s.bytes });
  }
  return { sources, files: r.files, bytes: r.bytes, durationMs: r.durationMs };
}
