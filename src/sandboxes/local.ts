/**
 * The `local` sandbox (the default): a fresh temporary folder; the snapshot
 * restored into it through a read-only repository; the post-restore steps;
 * the application started as its own process group with an allow-listed
 * environment; the readiness probe; the checks; and, whatever happened, the
 * teardown: the application's process group stopped and the folder removed
 * (unless `keep`).
 *
 *     <sandbox>/                 (mkdtemp: restorable-drill-XXXXXX, mode 0700)
 *       restored/<NAME>/         each source, unless drill.sources.NAME.path moves it
 *       <path>/                  a source moved by drill.sources.NAME.path
 *       logs/app.log             the application's stdout and stderr
 *
 * Interrupts: aborting `signal` (the CLI does it on SIGINT/SIGTERM) ends the
 * current phase early, skips the rest and tears down; the run then says
 * `interrupted`. Only a SIGKILL of restorable itself can leave the
 * application running (its process group id is in the report and on stderr).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseDuration } from "../config/duration.js";
import { RestorableError } from "../core/errors.js";
import { AppProcess, type AppStopResult } from "./app.js";
import { drillEnv, drillVars, freePort, readRestoredCanary, runChecks, runSteps, skipChecks } from "./phases.js";
import { describeProbe, logTail, waitReady, type ReadyProbe } from "./readiness.js";
import { restoreIntoSandbox, type SandboxRestore } from "./restore-into.js";
import type { AppRecord, CheckRecord, PhaseDurations, SandboxOptions, SandboxRun, StepRecord } from "./types.js";
import { substitute, type DrillVars } from "./vars.js";

/** Default application start timeout: 60 s; stop timeout (SIGTERM to SIGKILL): 10 s. */
export const APP_DEFAULTS = { startTimeoutMs: 60_000, stopTimeoutMs: 10_000 } as const;

/** The readiness probe of `app.ready` with variables substituted. */
export function resolveProbe(ready: NonNullable<SandboxOptions["plan"]["app"]>["ready"], vars: DrillVars): ReadyProbe {
  if (ready.http) {
    const s = ready.http.status;
    return { kind: "http", url: substitute(ready.http.url, vars, "drill.app.ready.http.url"), ...(s !== undefined ? { status: typeof s === "number" ? [s] : s } : {}) };
  }
  if (ready.tcp) {
    const port = Number(typeof ready.tcp.port === "number" ? ready.tcp.port : substitute(ready.tcp.port, vars, "drill.app.ready.tcp.port"));
    return { kind: "tcp", host: ready.tcp.host ?? "127.0.0.1", port };
  }
  return { kind: "log", pattern: new RegExp(ready.log ?? "") };
}

/** Runs a drill in a local sandbox. Never throws for a failing drill: failures are in the result. */
export async function runLocalSandbox(opts: SandboxOptions): Promise<SandboxRun> {
  const { plan, signal } = opts;
  const emit = opts.onEvent ?? (() => undefined);
  const sandbox = await mkdtemp(join(opts.tmpDir ?? tmpdir(), "restorable-drill-"));
  const logFile = join(sandbox, "logs", "app.log");
  const failures: string[] = [];
  const phases: { -readonly [K in keyof PhaseDurations]: PhaseDurations[K] } = {};
  let restored: SandboxRestore | undefined;
  let steps: StepRecord[] = plan.steps.map((s) => ({ name: s.name, type: s.type, status: "skipped", observed: "skipped: not reached", durationMs: 0 }));
  let checks: CheckRecord[] = skipChecks(plan, "not reached");
  let app: AppProcess | undefined;
  let appRecord: Omit<AppRecord, "stop"> | undefined;
  let canary: SandboxRun["canary"];
  let rtoMs: number | undefined;
  let tail: string | undefined;
  let interrupted = false;
  try {
    await mkdir(join(sandbox, "logs"));
    const port = await freePort();
    // 1. restore
    emit({ phase: "restore", message: `restoring snapshot ${plan.manifest.id} into ${sandbox}` });
    const restoreStart = performance.now();
    restored = await restoreIntoSandbox(opts.repo, plan.manifest, sandbox, plan.placements, signal);
    phases.restoreMs = Math.round(performance.now() - restoreStart);
    const vars = drillVars(plan, sandbox, port, restored.sources);
    const env = drillEnv(plan, vars, restored.sources);
    canary = readRestoredCanary(plan, vars);
    if (canary?.error) failures.push(`canary: ${canary.error}`);
    const ctx = { sandbox, env, vars, onEvent: emit, ...(signal ? { signal } : {}) };
    // 2. steps
    const stepsStart = performance.now();
    const s = await runSteps(plan, ctx);
    steps = s.records;
    phases.stepsMs = Math.round(performance.now() - stepsStart);
    if (s.failed) {
      failures.push(`step ${s.failed.name} failed: ${s.failed.observed}`);
      checks = skipChecks(plan, `step ${s.failed.name} failed`);
      return await finish();
    }
    if (signal?.aborted) return await finish();
    // 3. the application
    if (plan.app) {
      const argv = plan.app.command.map((a, i) => substitute(a, vars, `drill.app.command[${i}]`));
      const cwd = plan.app.cwd !== undefined ? resolve(sandbox, substitute(plan.app.cwd, vars, "drill.app.cwd")) : sandbox;
      const appEnv = { ...env };
      for (const [k, v] of Object.entries(plan.app.env ?? {})) appEnv[k] = substitute(v, vars, `drill.app.env.${k}`);
      const probe = resolveProbe(plan.app.ready, vars);
      const timeoutMs = plan.app["start-timeout"] !== undefined ? parseDuration(plan.app["start-timeout"]) : APP_DEFAULTS.startTimeoutMs;
      emit({ phase: "app", message: `starting ${argv.join(" ")} (ready when ${describeProbe(probe)}; timeout ${timeoutMs} ms)` });
      const appStart = performance.now();
      app = await AppProcess.start(argv, { cwd, env: appEnv, logFile });
      const ready = await waitReady(probe, { app, logFile, timeoutMs, ...(signal ? { signal } : {}) });
      appRecord = {
        command: argv, ...(app.pid !== undefined ? { pid: app.pid } : {}), probe: describeProbe(probe), ready: ready.ready,
        ...(ready.ready ? { readyAfterMs: ready.afterMs } : {}), observed: ready.observed, logFile,
      };
      if (!ready.ready) {
        if (ready.reason === "interrupted") return await finish();
        failures.push(`the application did not become ready: ${ready.observed}`);
        tail = await logTail(logFile);
        checks = skipChecks(plan, "the application did not become ready");
        return await finish();
      }
      phases.startToReadyMs = Math.round(performance.now() - appStart);
      emit({ phase: "app", message: `app ready after ${ready.afterMs} ms (pid ${app.pid}, process group ${app.pid})` });
    }
    // 4. checks
    const checksStart = performance.now();
    const c = await runChecks(plan, ctx);
    checks = c.records;
    phases.checksMs = Math.round(c.endedAt - checksStart);
    if (c.failed > 0) {
      failures.push(`${c.failed} of ${plan.checks.length} check(s) failed`);
      if (app) tail = await logTail(logFile);
    } else if (!signal?.aborted) rtoMs = Math.round(c.endedAt - restoreStart);
    return await finish();
  } catch (err) {
    if (!(signal?.aborted)) failures.push(err instanceof RestorableError ? `${err.code}: ${err.message}` : (err as Error).message);
    return await finish();
  }

  async function finish(): Promise<SandboxRun> {
    interrupted = signal?.aborted === true;
    const teardownStart = performance.now();
    emit({ phase: "teardown", message: opts.keep ? `stopping the application; keeping ${sandbox}` : `stopping the application and removing ${sandbox}` });
    const problems: string[] = [];
    let stop: AppStopResult | undefined;
    if (app) {
      const stopMs = plan.app?.["stop-timeout"] !== undefined ? parseDuration(plan.app["stop-timeout"]) : APP_DEFAULTS.stopTimeoutMs;
      stop = await app.stop(stopMs);
      if (stop.leftovers) problems.push(`process group ${app.pid} still has processes after SIGKILL`);
    }
    if (!opts.keep) {
      try {
        await rm(sandbox, { recursive: true, force: true, maxRetries: 3 });
      } catch (err) {
        problems.push(`could not remove ${sandbox}: ${(err as Error).message}`);
      }
    }
    phases.teardownMs = Math.round(performance.now() - teardownStart);
    return {
      sandboxKind: "local", sandbox, kept: opts.keep === true,
      ...(restored ? { restore: restored } : {}), ...(canary ? { canary } : {}),
      steps, ...(appRecord ? { app: { ...appRecord, ...(stop ? { stop } : {}) } } : {}), checks, phases,
      ...(rtoMs !== undefined ? { rtoMs } : {}), ...(tail !== undefined ? { logTail: tail } : {}),
      failures, interrupted, teardownProblems: problems,
    };
  }
}
