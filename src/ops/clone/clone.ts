/**
 * The clone use case: restore the snapshot a selector names (typically
 * `latest-before:<target time>`, the closest earlier point) into a new,
 * isolated target that outlives the job, run the drill's health checks on
 * it, and leave it without any repository configuration, so nothing started
 * on the clone can write backups into the source's repository.
 *
 *  1. select the snapshot; check the target is isolated (target.ts) and new;
 *  2. restore (src/ops/restore) into the target folder, or into a temporary
 *     folder for an S3 export;
 *  3. remove every `restorable.yml`/`restorable.yaml` the snapshot carried;
 *  4. run `drill.checks` that need no running application (sql, file,
 *     sqlite-integrity, git-fsck, command) with `${sources.NAME}` pointing at
 *     the clone; `http` checks and any check using `${port}` are skipped;
 *  5. write `restorable-clone.json` (snapshot id and time, sources, counts:
 *     no repository location, no key) and, for S3, upload everything as
 *     plain objects, only when the checks passed.
 * `dryRun` stops after step 1 and reports what would be restored.
 */
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { LoadedConfig } from "../../config/load.js";
import { ConfigError } from "../../core/errors.js";
import type { SnapshotManifest } from "../../core/manifest.js";
import type { Repository } from "../../repo/repository.js";
import { runCheck } from "../../sandboxes/run-checks.js";
import { safeEnv } from "../../sources/hooks.js";
import type { Env } from "../open.js";
import { restore } from "../restore/restore.js";
import { exportToS3, listTree } from "./export-s3.js";
import type { CloneTarget } from "./target.js";

/** File names treated as repository configuration and removed from a clone. */
export const CONFIG_FILE_NAMES = ["restorable.yml", "restorable.yaml"] as const;
/** The metadata file written at the root of every clone. */
export const CLONE_METADATA = "restorable-clone.json";

export interface CloneOptions {
  readonly target: CloneTarget;
  /** An S3 endpoint for an `s3` target (MinIO...); AWS when undefined. */
  readonly targetEndpoint?: string;
  /** restorable.yml, for `drill.checks` and `drill.pass-env`; no checks run without it. */
  readonly loaded?: LoadedConfig;
  /** Run the health checks (default true when the file has `drill.checks`). */
  readonly checks?: boolean;
  readonly dryRun?: boolean;
  /** Only entries matching these `SOURCE/path` globs. */
  readonly include?: readonly string[];
  /** The point in time asked for (ms), for the RPO of the clone: target time minus snapshot time. */
  readonly targetTimeMs?: number;
  readonly env: Env;
}

/** One health check's outcome. */
export interface CloneCheck {
  readonly name: string;
  readonly type: string;
  readonly status: "passed" | "failed" | "skipped";
  readonly expected: string;
  readonly observed: string;
  readonly durationMs: number;
}

export interface CloneResult {
  readonly snapshot: { readonly id: string; readonly time: string; readonly host: string; readonly tags: readonly string[] };
  readonly target: string;
  readonly kind: "path" | "s3";
  readonly dryRun: boolean;
  readonly files: number;
  readonly bytes: number;
  /** Configuration files removed from the clone (relative paths). */
  readonly removedConfig: readonly string[];
  readonly checks: readonly CloneCheck[];
  /** True when every check that ran passed; null when none ran. */
  readonly checksOk: boolean | null;
  /** S3: objects written (0 when the checks failed: nothing is exported then). */
  readonly objects: number;
  /** Target time minus snapshot time (ms), or now minus snapshot time without a target time. */
  readonly rpoMs: number;
  readonly restoreMs: number;
  readonly durationMs: number;
}

async function assertEmptyFolder(dir: string): Promise<void> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new ConfigError(`target: ${dir} exists and is not a folder; a clone goes to a new or empty folder`, { field: "target" });
    if ((await readdir(dir)).length > 0) throw new ConfigError(`target: ${dir} is not empty; a clone goes to a new or empty folder`, { field: "target" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

async function removeConfigFiles(dir: string): Promise<string[]> {
  const { files } = await listTree(dir);
  const victims = files.filter((f) => (CONFIG_FILE_NAMES as readonly string[]).includes(f.split("/").at(-1)!));
  for (const f of victims) await rm(join(dir, f), { force: true });
  return victims;
}

const NEEDS_APP = /\$\{port\}/;

async function runHealthChecks(dir: string, m: SnapshotManifest, loaded: LoadedConfig, env: Env): Promise<CloneCheck[]> {
  const drill = loaded.config.drill!;
  const vars = { sandbox: dir, port: 0, config: loaded.dir, sources: Object.fromEntries(m.sources.map((s) => [s.name, join(dir, s.name)])) };
  const checkEnv = { ...safeEnv(env, drill["pass-env"] ?? []), ...(drill.env ?? {}) };
  for (const k of Object.keys(checkEnv)) if (k.startsWith("RESTORABLE_") || k.startsWith("AWS_")) delete checkEnv[k];
  const out: CloneCheck[] = [];
  for (const [i, check] of drill.checks.entries()) {
    if (check.type === "http" || NEEDS_APP.test(JSON.stringify(check))) {
      out.push({ name: check.name, type: check.type, status: "skipped", expected: "-", observed: "skipped: needs the drill's running application (run the restore-drill action for it)", durationMs: 0 });
      continue;
    }
    const o = await runCheck(check, i, { sandbox: dir, env: checkEnv, vars });
    out.push({ name: check.name, type: check.type, status: o.ok ? "passed" : "failed", expected: o.expected, observed: o.observed, durationMs: o.durationMs });
  }
  return out;
}

/**
 * Clones `manifest` (already selected) to `options.target`.
 * @throws ConfigError (target not new or empty, no drill checks when asked for), IntegrityError (damaged snapshot),
 *   StoreError (S3 export failed, naming the endpoint; or the target prefix already holds objects).
 */
export async function cloneSnapshot(repo: Repository, manifest: SnapshotManifest, options: CloneOptions): Promise<CloneResult> {
  const started = performance.now();
  const { target } = options;
  const where = target.kind === "path" ? target.dir : target.location;
  const snapshot = { id: manifest.id, time: manifest.time, host: manifest.host, tags: manifest.tags };
  const rpoMs = Math.max(0, (options.targetTimeMs ?? Date.now()) - manifest.timeMs);
  const wantChecks = options.checks ?? (options.loaded?.config.drill?.checks.length ?? 0) > 0;
  if (wantChecks && !options.loaded?.config.drill) {
    throw new ConfigError('checks: the health checks come from drill.checks of restorable.yml, and there is none (set checks: false, or give input "config")', { field: "checks" });
  }
  if (target.kind === "path") await assertEmptyFolder(target.dir);
  const base = { snapshot, target: where, kind: target.kind, removedConfig: [] as string[], rpoMs };
  if (options.dryRun) {
    return { ...base, dryRun: true, files: manifest.stats.files, bytes: manifest.stats.bytes, checks: [], checksOk: null, objects: 0, restoreMs: 0, durationMs: Math.round(performance.now() - started) };
  }
  const dir = target.kind === "path" ? target.dir : await mkdtemp(join(options.env.RUNNER_TEMP || tmpdir(), "restorable-clone-"));
  try {
    const restoreDir = target.kind === "path" ? dir : join(dir, "clone");
    const r = await restore(repo, manifest, { target: restoreDir, ...(options.include?.length ? { include: options.include } : {}) });
    const removedConfig = await removeConfigFiles(restoreDir);
    const checks = wantChecks ? await runHealthChecks(restoreDir, manifest, options.loaded!, options.env) : [];
    const ran = checks.filter((c) => c.status !== "skipped");
    const checksOk = ran.length === 0 ? null : ran.every((c) => c.status === "passed");
    const metadata = new TextEncoder().encode(JSON.stringify({
      snapshot, sources: manifest.sources.map((s) => ({ name: s.name, kind: s.kind })), clonedAt: new Date().toISOString(),
      ...(options.targetTimeMs !== undefined ? { targetTime: new Date(options.targetTimeMs).toISOString() } : {}),
      files: r.files, bytes: r.bytes, removedConfigFiles: removedConfig, checks: checks.map((c) => ({ name: c.name, status: c.status })),
    }, null, 2) + "\n");
    let objects = 0;
    if (target.kind === "path") await writeFile(join(restoreDir, CLONE_METADATA), metadata);
    else if (checksOk !== false) {
      objects = (await exportToS3(restoreDir, { bucket: target.bucket, prefix: target.prefix, ...(options.targetEndpoint ? { endpoint: options.targetEndpoint } : {}) }, options.env, { [CLONE_METADATA]: metadata })).objects;
    }
    return { ...base, dryRun: false, files: r.files, bytes: r.bytes, removedConfig, checks, checksOk, objects, restoreMs: r.durationMs, durationMs: Math.round(performance.now() - started) };
  } finally {
    if (target.kind === "s3") await rm(dir, { recursive: true, force: true });
  }
}
