/**
 * The snapshot use case: pre hook, shared lock, read every source into
 * packs (source.ts), write the index file, check the lock (fencing), write the manifest
 * (the commit), check what was written, annotate, post hook.
 * Order of writes: packs -> index -> manifest, so an interruption at any
 * point leaves no visible partial snapshot (docs/format.md, "Commit").
 */
import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import { SourceError } from "../../core/errors.js";
import { makeGearTable } from "../../core/fastcdc.js";
import { MANIFEST_FORMAT, type SnapshotManifest, type SourceRecord } from "../../core/manifest.js";
import { newSnapshotId } from "../../core/snapshot-id.js";
import { addAnnotation } from "../../repo/annotations.js";
import { ChunkReader } from "../../repo/chunk-reader.js";
import { RepoLock, type LockTiming } from "../../repo/lock.js";
import { FramePool } from "../../repo/frame-pool.js";
import { PackSink } from "../../repo/pack-sink.js";
import type { Repository } from "../../repo/repository.js";
import { runHook, safeEnv } from "../../sources/index.js";
import type { SourceWarning } from "../../sources/types.js";
import { VERSION } from "../../version.js";
import { checkStructure } from "../verify/structure.js";
import { makeWorkDir, sweepWorkDirs } from "../work-dir.js";
import { HeadStart, type HeadStartBounds } from "./head-start.js";
import { originOf, readSource, storeSource, type SourceRun } from "./source.js";
import { FileStorer } from "./store-file.js";

/** One source to read. Paths may be relative to the working directory. */
export type SourceSpec =
  | { readonly kind: "directory"; readonly name: string; readonly path: string; readonly include?: readonly string[]; readonly exclude?: readonly string[]; readonly sqlite?: "auto" | "never" }
  | { readonly kind: "sqlite"; readonly name: string; readonly path: string }
  | { readonly kind: "command"; readonly name: string; readonly command: readonly string[]; readonly filename?: string };

/** Progress of a running snapshot, for the CLI's display. */
export interface SnapshotProgress {
  readonly source: string;
  readonly path: string;
  readonly files: number;
  readonly bytesRead: number;
}

export interface SnapshotOptions {
  readonly sources: readonly SourceSpec[];
  readonly tags?: readonly string[];
  /** Recorded snapshot time (imports, tests); default now. */
  readonly time?: Date;
  readonly host?: string;
  /** Shell commands run before and after (post always runs). */
  readonly hooks?: { readonly pre?: string; readonly post?: string };
  /** Extra environment names the hooks and command sources may see. */
  readonly envAllow?: readonly string[];
  readonly lockTiming?: LockTiming;
  readonly onProgress?: (p: SnapshotProgress) => void;
  readonly onWarning?: (w: SourceWarning) => void;
  /** Skip the post-commit structure check (tests of crash behaviour only). */
  readonly skipCheck?: boolean;
}

export interface SnapshotResult {
  readonly manifest: SnapshotManifest;
  readonly warnings: readonly SourceWarning[];
  /** Result of the post-commit structure check. */
  readonly checked: boolean;
}

/**
 * Entries of the first source walked while the repository opens, then ahead of the snapshot loop, at
 * most (a few hundred bytes each). A head start of 16,384 entries kept D1's walk paused, and with it
 * the hand-over of its database copy, until the loop had caught up (0.4-0.7 s); walking that far ahead
 * for the whole snapshot cost 30-35 MB of peak RSS and more CPU than it saved.
 */
const HEAD_START: HeadStartBounds = { headStart: 4096, ahead: 512 };

/**
 * Takes a snapshot of `options.sources`. `repository` may still be opening (its key being derived): the first
 * source's walk starts meanwhile (head-start.ts). What acts on the user's side waits for it to open (the pre hook,
 * a command source), so a wrong password runs nothing.
 * @throws SourceError (a source missing or unreadable, a declared database corrupt), HookError, LockedError,
 *   LockLostError, StoreError; whatever opening the repository threw (WrongKeyError, NotARepositoryError),
 *   then without running any hook. In every case nothing is committed.
 */
export async function snapshot(repository: Repository | Promise<Repository>, options: SnapshotOptions): Promise<SnapshotResult> {
  const started = performance.now();
  const env = safeEnv(process.env, options.envAllow ? [...options.envAllow] : undefined);
  const warnings: SourceWarning[] = [];
  const onWarning = (w: SourceWarning): void => {
    warnings.push(w);
    options.onWarning?.(w);
  };
  assertUniqueNames(options.sources);
  const opening = Promise.resolve(repository);
  opening.catch(() => undefined); // awaited below, after the walk started
  let repo: Repository | undefined;
  if (options.hooks?.pre) {
    repo = await opening; // a wrong password runs no hook
    try {
      await runHook({ name: "pre", command: options.hooks.pre, env });
    } catch (err) {
      await runPost(options, env, err);
      throw err;
    }
  }
  await sweepWorkDirs(); // database copies a killed snapshot left behind
  const tempDir = await makeWorkDir("snap");
  // Not a command source: running the user's command is for after the repository opened.
  const head = options.sources[0]!;
  const first = head.kind === "command" ? undefined : new HeadStart(readSource(head, tempDir, env, onWarning), HEAD_START);
  try {
    repo ??= await opening;
  } catch (err) {
    await first?.cancel();
    await rm(tempDir, { recursive: true, force: true });
    throw err;
  }
  let lock: RepoLock | undefined;
  let pool: FramePool | undefined;
  let failure: unknown;
  try {
    lock = await RepoLock.acquire(repo, "shared", { purpose: "snapshot", ...(options.lockTiming ? { timing: options.lockTiming } : {}) });
    // The parent is chosen before the index is loaded: a snapshot committed its index before its
    // manifest, so every parent seen here has its blobs in the index loaded next. (A snapshot that
    // commits concurrently after this point is simply not a candidate.)
    const parent = await findParent(repo, options.sources);
    const { index } = await repo.loadIndex();
    pool = new FramePool(repo.keys.encKey, undefined, repo.keys.idKey);
    const sink = new PackSink(repo, index, pool);
    const reader = new ChunkReader(repo, index);
    const gear = makeGearTable(repo.keys.gearSeed);
    const run: SourceRun = {
      sink, reader, pool, tempDir, env, parent, onWarning,
      gearSeed: repo.keys.gearSeed,
      storer: new FileStorer(sink, gear, pool),
      dbStorer: new FileStorer(sink.background(), gear, pool),
      totals: { files: 0, dirs: 0, symlinks: 0, bytes: 0, bytesRead: 0 },
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    };
    const { totals } = run;
    const time = options.time ?? new Date();
    const records: SourceRecord[] = [];
    try {
      for (const [i, spec] of options.sources.entries()) records.push(await storeSource(run, spec, i === 0 ? first : undefined));
      const { indexFile } = await sink.finish();
      const id = newSnapshotId(time.getTime());
      const manifest: SnapshotManifest = {
        format: MANIFEST_FORMAT, id, time: time.toISOString(), timeMs: time.getTime(),
        host: options.host ?? hostname(), tags: [...(options.tags ?? [])].sort(), toolVersion: VERSION,
        ...(parent ? { parent: parent.id } : {}),
        indexFiles: indexFile ? [indexFile] : [],
        sources: records,
        stats: {
          ...totals, bytesAdded: sink.stats.bytesAdded, chunksNew: sink.stats.chunksNew, chunksTotal: sink.stats.chunksTotal,
          packsWritten: sink.stats.packsWritten, durationMs: Math.round(performance.now() - started),
        },
      };
      await lock.assertFresh();
      await repo.saveManifest(manifest);
      let checked = false;
      if (!options.skipCheck) {
        const report = await checkStructure(repo, index, [manifest]);
        checked = report.ok;
        await addAnnotation(repo, id, {
          type: "verify", at: new Date().toISOString(), ok: report.ok, level: "structure",
          summary: report.ok ? "structure checked after snapshot" : `structure check after snapshot failed: ${report.problems[0]?.message ?? ""}`,
        });
      }
      return { manifest, warnings, checked };
    } catch (err) {
      await sink.abandon();
      throw err;
    }
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    try {
      await first?.cancel(); // not consumed when the lock or the index failed: stop the walk and its copy
      await pool?.close();
      await lock?.release();
    } finally {
      await rm(tempDir, { recursive: true, force: true });
      await runPost(options, env, failure);
    }
  }
}

async function runPost(options: SnapshotOptions, env: Record<string, string>, failure: unknown): Promise<void> {
  if (!options.hooks?.post) return;
  try {
    await runHook({ name: "post", command: options.hooks.post, env: { ...env, RESTORABLE_SNAPSHOT_STATUS: failure ? "failed" : "ok" } });
  } catch (err) {
    if (!failure) throw err; // a post failure after a failed snapshot must not hide the first error
  }
}

function assertUniqueNames(sources: readonly SourceSpec[]): void {
  if (sources.length === 0) throw new SourceError("no sources given: name at least one path or a sources: list in restorable.yml", { field: "sources" });
  const seen = new Set<string>();
  for (const s of sources) {
    if (seen.has(s.name)) throw new SourceError(`two sources are named "${s.name}"; names must be unique`, { field: "sources", name: s.name });
    seen.add(s.name);
  }
}

/** The newest snapshot that has a source with the same name, kind and origin as one of ours. */
async function findParent(repo: Repository, sources: readonly SourceSpec[]): Promise<SnapshotManifest | undefined> {
  const ids = await repo.listSnapshotIds();
  for (let i = ids.length - 1; i >= 0 && i >= ids.length - 20; i--) {
    const m = await repo.loadManifest(ids[i]!);
    if (sources.some((s) => m.sources.some((r) => r.name === s.name && r.kind === s.kind && r.origin === originOf(s)))) return m;
  }
  return undefined;
}

