/**
 * The restore-drill use case (docs/drills.md): plan, then execute.
 *
 * plan: reads the `drill:` section, selects exactly one snapshot (`latest`,
 * an id or prefix, `latest-before:<time>`; --snapshot overrides the file),
 * checks every `${sources.NAME}` against that snapshot, finds where the
 * canary database lives, and builds the allow-listed environment.
 *
 * execute: runs the sandbox (local or kind) over a read-only view of the
 * repository, computes RTO and RPO and checks the budgets, then, after
 * teardown and from this (the main) process, records the result as a
 * `drill` annotation on the snapshot through the caller's own handle. When
 * that write is refused (read-only credentials, e.g. a pull-request gate)
 * the drill still counts and the report says it was not recorded.
 */
import { relative, resolve, basename } from "node:path";
import { configSourceSpecs } from "../config/sources.js";
import type { LoadedConfig } from "../config/load.js";
import type { DrillConfig } from "../config/drill-schema.js";
import { parseDuration } from "../config/duration.js";
import { ConfigError, RestorableError } from "../core/errors.js";
import type { SnapshotManifest } from "../core/manifest.js";
import { isWithin } from "../core/safe-path.js";
import { addAnnotation } from "../repo/annotations.js";
import type { Repository } from "../repo/repository.js";
import { runKindSandbox, type CommandRunner } from "../sandboxes/kind.js";
import { runLocalSandbox } from "../sandboxes/local.js";
import type { DrillEvent, SandboxPlan, SandboxRun } from "../sandboxes/types.js";
import { sourceRefs } from "../sandboxes/vars.js";
import { safeEnv } from "../sources/hooks.js";
import type { Env } from "./open.js";
import { selectSnapshot } from "./select.js";
import { reportSummary, type DrillReport } from "./drill/report.js";

/** The report and its renderings (see ./drill/report.ts and ./drill/markdown.ts). */
export { reportMarkdown } from "./drill/markdown.js";
export { reportSummary, humanMs, type DrillReport } from "./drill/report.js";

/** A planned drill: everything decided before anything runs. */
export interface DrillPlan {
  /** The configuration file's label (for messages and the report). */
  readonly config: string;
  readonly drill: DrillConfig;
  readonly snapshot: SnapshotManifest;
  readonly sandbox: "local" | "kind";
  readonly sandboxPlan: SandboxPlan;
  readonly maxRtoMs: number | null;
  readonly maxRpoMs: number | null;
}

/** Options of {@link planDrill}. */
export interface PlanOptions {
  /** `--snapshot`: overrides `drill.snapshot`. */
  readonly snapshot?: string;
  /** restorable's environment (only the allow-listed part reaches the drill). */
  readonly env: Env;
}

/** Every string in `value` with its place (`drill.checks[0].url`). */
function strings(value: unknown, path: string, out: { path: string; text: string }[] = []): { path: string; text: string }[] {
  if (typeof value === "string") out.push({ path, text: value });
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}[${i}]`, out));
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) strings(v, `${path}.${k}`, out);
  return out;
}

/** `${sources.NAME}/path` of the restored canary database, from the live path and the file's sources. */
function canaryLocation(loaded: LoadedConfig, drill: DrillConfig): string | undefined {
  if (!drill.canary) return undefined;
  const live = resolve(loaded.dir, drill.canary.db);
  const specs = loaded.config.sources ? configSourceSpecs(loaded) : [];
  for (const s of specs) {
    if (s.kind === "sqlite" && resolve(s.path) === live) return `\${sources.${s.name}}/${basename(live)}`;
    if (s.kind === "directory" && isWithin(resolve(s.path), live) && live !== resolve(s.path)) return `\${sources.${s.name}}/${relative(resolve(s.path), live)}`;
  }
  throw new ConfigError(`${loaded.label}: drill.canary.db: ${drill.canary.db} is not inside any of the sources: of this file (the canary must be in what is backed up)`, { file: loaded.label, field: "drill.canary.db" });
}

/**
 * Plans a drill.
 * @throws ConfigError (no `drill:` section, a variable naming a source the snapshot lacks, a canary outside
 *   the sources), NotFoundError (no snapshot matches; the message lists the nearest ones).
 */
export async function planDrill(repo: Repository, loaded: LoadedConfig, opts: PlanOptions): Promise<DrillPlan> {
  const drill = loaded.config.drill;
  if (!drill) throw new ConfigError(`${loaded.label}: drill: required by \`restorable drill\` (see docs/drills.md)`, { file: loaded.label, field: "drill" });
  const canaryDb = canaryLocation(loaded, drill);
  const snapshot = await selectSnapshot(repo, opts.snapshot ?? drill.snapshot ?? "latest", drill.tags ?? []);
  const names = new Set(snapshot.sources.map((s) => s.name));
  const have = [...names].join(", ");
  for (const { path, text } of strings(drill, "drill")) {
    for (const ref of sourceRefs(text)) {
      if (!names.has(ref)) throw new ConfigError(`${loaded.label}: ${path}: \${sources.${ref}}: snapshot ${snapshot.id} has no source "${ref}" (it has: ${have})`, { file: loaded.label, field: path, snapshot: snapshot.id });
    }
  }
  for (const name of Object.keys(drill.sources ?? {})) {
    if (!names.has(name)) throw new ConfigError(`${loaded.label}: drill.sources.${name}: snapshot ${snapshot.id} has no source "${name}" (it has: ${have})`, { file: loaded.label, field: `drill.sources.${name}`, snapshot: snapshot.id });
  }
  for (const [i, c] of (drill.kind?.claims ?? []).entries()) {
    if (!names.has(c.source)) throw new ConfigError(`${loaded.label}: drill.kind.claims[${i}].source: snapshot ${snapshot.id} has no source "${c.source}" (it has: ${have})`, { file: loaded.label, field: `drill.kind.claims[${i}].source` });
  }
  let baseEnv: Record<string, string>;
  try {
    baseEnv = safeEnv(opts.env, drill["pass-env"] ?? []);
  } catch (err) {
    throw new ConfigError(`${loaded.label}: drill.pass-env: ${(err as Error).message}`, { file: loaded.label, field: "drill.pass-env" });
  }
  // Belt and braces: nothing named like the repository's secrets or storage credentials, whatever safeEnv allowed.
  for (const k of Object.keys(baseEnv)) if (k.startsWith("RESTORABLE_") || k.startsWith("AWS_")) delete baseEnv[k];
  return {
    config: loaded.label, drill, snapshot, sandbox: drill.sandbox ?? "local",
    sandboxPlan: {
      manifest: snapshot, placements: drill.sources ?? {}, baseEnv, env: drill.env ?? {},
      steps: drill.steps ?? [], ...(drill.app ? { app: drill.app } : {}), checks: drill.checks,
      ...(canaryDb ? { canary: { db: canaryDb, ...(drill.canary?.read ? { read: drill.canary.read } : {}) } } : {}),
      configDir: loaded.dir,
    },
    maxRtoMs: drill["max-rto"] !== undefined ? parseDuration(drill["max-rto"]) : null,
    maxRpoMs: drill["max-rpo"] !== undefined ? parseDuration(drill["max-rpo"]) : null,
  };
}

/** Options of {@link executeDrill}. */
export interface ExecuteOptions {
  /** Leave the sandbox folder (the application is still stopped). */
  readonly keep?: boolean;
  /** Aborting it interrupts the drill (teardown still runs; nothing is recorded). */
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: DrillEvent) => void;
  /** Record the result as an annotation (default true). */
  readonly record?: boolean;
  /** Parent of the sandbox folder (default: the OS temporary folder). */
  readonly tmpDir?: string;
  /** The drill's start time (default: now); RPO is measured from it. */
  readonly startedAt?: Date;
  /** kind sandbox: replaces the process runner (tests). */
  readonly kindRunner?: CommandRunner;
}

/**
 * Executes a planned drill and records the result on the snapshot through `repo` (the writable handle; the
 * sandbox gets `repo.readOnlyView()`). Never throws for a failing drill: see `report.ok` and `report.failures`.
 */
export async function executeDrill(repo: Repository, plan: DrillPlan, opts: ExecuteOptions = {}): Promise<DrillReport> {
  const started = opts.startedAt ?? new Date();
  const common = {
    repo: repo.readOnlyView(), plan: plan.sandboxPlan, keep: opts.keep === true,
    ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onEvent ? { onEvent: opts.onEvent } : {}), ...(opts.tmpDir ? { tmpDir: opts.tmpDir } : {}),
  };
  const run: SandboxRun = plan.sandbox === "kind"
    ? await runKindSandbox({ ...common, kind: plan.drill.kind!, ...(opts.kindRunner ? { runner: opts.kindRunner } : {}) })
    : await runLocalSandbox(common);
  const finished = new Date();
  const report = buildReport(plan, run, started, finished);
  if (report.status === "interrupted" || opts.record === false) {
    return { ...report, recorded: { ok: false, key: null, reason: report.status === "interrupted" ? "the drill was interrupted" : "recording was turned off" } };
  }
  try {
    const key = await addAnnotation(repo, plan.snapshot.id, {
      type: "drill", at: finished.toISOString(), ok: report.ok, summary: reportSummary(report),
      details: {
        sandbox: report.sandbox.kind, config: plan.config, rtoMs: report.rtoMs, rpoMs: report.rpo.snapshotMs, canaryRpoMs: report.rpo.canaryMs,
        checks: report.checks.length, checksFailed: report.checks.filter((c) => c.status === "failed").length, phases: report.phases,
      },
    });
    return { ...report, recorded: { ok: true, key, reason: null } };
  } catch (err) {
    const readOnly = err instanceof RestorableError && err.details.readOnly === true;
    const reason = `${readOnly ? "the repository is read-only here" : "the repository refused the write (read-only credentials?)"}: ${(err as Error).message}`;
    return { ...report, recorded: { ok: false, key: null, reason } };
  }
}

/** Plans and executes a drill (see planDrill and executeDrill). */
export async function runDrill(repo: Repository, loaded: LoadedConfig, opts: PlanOptions & ExecuteOptions): Promise<DrillReport> {
  const startedAt = opts.startedAt ?? new Date();
  const plan = await planDrill(repo, loaded, opts);
  return executeDrill(repo, plan, { ...opts, startedAt });
}

/** The report of a sandbox run (before recording). */
function buildReport(plan: DrillPlan, run: SandboxRun, started: Date, finished: Date): DrillReport {
  const m = plan.snapshot;
  const failures = [...run.failures];
  const snapshotRpo = started.getTime() - m.timeMs;
  const canaryMs = run.canary?.timeMs !== undefined ? started.getTime() - run.canary.timeMs : null;
  // The budget takes the larger: normally the canary (written before the snapshot), but a snapshot recorded
  // with an earlier --time than its canary must not pass on the canary alone.
  const rpoForBudget = Math.max(canaryMs ?? 0, snapshotRpo);
  const rtoMs = run.rtoMs ?? null;
  const rtoOk = plan.maxRtoMs === null || rtoMs === null ? null : rtoMs <= plan.maxRtoMs;
  const rpoOk = plan.maxRpoMs === null ? null : rpoForBudget <= plan.maxRpoMs;
  if (rtoOk === false) failures.push(`RTO ${rtoMs} ms exceeds max-rto ${plan.maxRtoMs} ms`);
  if (rpoOk === false) failures.push(`RPO ${rpoForBudget} ms (${canaryMs !== null && canaryMs >= snapshotRpo ? "canary" : "snapshot"}) exceeds max-rpo ${plan.maxRpoMs} ms`);
  failures.push(...run.teardownProblems.map((p) => `teardown: ${p}`));
  const failedChecks = run.checks.filter((c) => c.status === "failed");
  for (const c of failedChecks) failures.push(`check ${c.name} failed: ${c.observed}`);
  // "N of M check(s) failed" is implied by the lines above.
  const distinct = failures.filter((f) => !/^\d+ of \d+ check\(s\) failed$/.test(f));
  const status = run.interrupted ? "interrupted" : distinct.length === 0 && run.checks.every((c) => c.status === "passed") ? "passed" : "failed";
  return {
    ok: status === "passed", status, config: plan.config,
    sandbox: { kind: run.sandboxKind, path: run.sandbox, kept: run.kept },
    startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMs: finished.getTime() - started.getTime(),
    snapshot: { id: m.id, time: m.time, host: m.host, tags: m.tags },
    sources: (run.restore?.sources ?? m.sources.map((s) => ({ name: s.name, kind: s.kind, path: "", entries: s.entries, bytes: s.bytes })))
      .map((s) => ({ name: s.name, kind: s.kind, path: s.path, env: "env" in s && s.env ? s.env : null, entries: s.entries, bytes: s.bytes })),
    restore: run.restore ? { files: run.restore.files, bytes: run.restore.bytes, durationMs: run.restore.durationMs } : null,
    steps: run.steps, app: run.app ?? null, checks: run.checks, phases: run.phases,
    rtoMs, rpo: { snapshotMs: snapshotRpo, canaryMs, canaryTime: run.canary?.timeMs !== undefined ? new Date(run.canary.timeMs).toISOString() : null, canaryError: run.canary?.error ?? null },
    budgets: { maxRtoMs: plan.maxRtoMs, maxRpoMs: plan.maxRpoMs, rtoOk, rpoOk },
    failures: status === "interrupted" ? ["interrupted by a signal", ...distinct] : distinct,
    logTail: run.logTail ?? null,
    teardown: { durationMs: run.phases.teardownMs ?? null, problems: run.teardownProblems },
    commands: run.commands ?? null,
    recorded: { ok: false, key: null, reason: "not recorded yet" },
  };
}
