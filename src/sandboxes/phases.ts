/**
 * Phases every sandbox shares: the drill's environment and variables, the
 * post-restore steps (a failing step skips the later ones), the checks
 * (all run, each reported), the canary read-back, and a free port.
 */
import { createServer } from "node:net";
import { performance } from "node:perf_hooks";
import { readCanary } from "../checks/canary.js";
import type { PlacedSource } from "./restore-into.js";
import { runCheck } from "./run-checks.js";
import { runStep } from "./steps.js";
import type { CheckRecord, DrillEvent, SandboxPlan, StepRecord } from "./types.js";
import { substitute, type DrillVars } from "./vars.js";

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The variables of one run. */
export function drillVars(plan: SandboxPlan, sandbox: string, port: number, sources: readonly PlacedSource[]): DrillVars {
  return { sandbox, port, config: plan.configDir, sources: Object.fromEntries(sources.map((s) => [s.name, s.path])) };
}

/**
 * The environment of steps, the application and command checks: the allow-listed base, then
 * `drill.env` (variables substituted), then each source's `env` variable set to its restored path.
 */
export function drillEnv(plan: SandboxPlan, vars: DrillVars, sources: readonly PlacedSource[]): Record<string, string> {
  const env: Record<string, string> = { ...plan.baseEnv };
  for (const [k, v] of Object.entries(plan.env)) env[k] = substitute(v, vars, `drill.env.${k}`);
  for (const s of sources) if (s.env) env[s.env] = s.path;
  return env;
}

/** Reads the canary back from the restored data; errors become `error`. */
export function readRestoredCanary(plan: SandboxPlan, vars: DrillVars): { timeMs?: number; raw?: string; error?: string } | undefined {
  if (!plan.canary) return undefined;
  try {
    const db = substitute(plan.canary.db, vars, "drill.canary.db");
    const r = readCanary(db, plan.canary.read);
    return { timeMs: r.timeMs, raw: r.raw };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Context of {@link runSteps} and {@link runChecks}. */
export interface PhaseContext {
  readonly sandbox: string;
  readonly env: Readonly<Record<string, string>>;
  readonly vars: DrillVars;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: DrillEvent) => void;
}

/** Runs the steps in order; after a failure (or an interrupt) the rest are `skipped`. */
export async function runSteps(plan: SandboxPlan, ctx: PhaseContext): Promise<{ records: StepRecord[]; failed?: StepRecord }> {
  const records: StepRecord[] = [];
  let failed: StepRecord | undefined;
  for (const [i, step] of plan.steps.entries()) {
    if (failed || ctx.signal?.aborted) {
      records.push({ name: step.name, type: step.type, status: "skipped", observed: failed ? `skipped: step ${failed.name} failed` : "skipped: interrupted", durationMs: 0 });
      continue;
    }
    ctx.onEvent?.({ phase: "steps", message: `step ${step.name} (${step.type})` });
    const o = await runStep(step, i, ctx);
    const rec: StepRecord = { name: step.name, type: step.type, status: o.ok ? "passed" : "failed", observed: o.observed, ...(o.detail ? { detail: o.detail } : {}), durationMs: o.durationMs };
    records.push(rec);
    if (!o.ok) failed = rec;
  }
  return { records, ...(failed ? { failed } : {}) };
}

/** Marks every check `skipped` with `why`. */
export function skipChecks(plan: SandboxPlan, why: string): CheckRecord[] {
  return plan.checks.map((c) => ({ name: c.name, type: c.type, status: "skipped", expected: "", observed: `skipped: ${why}`, assertions: [], durationMs: 0 }));
}

/**
 * Runs every check (a failed check does not stop the others); an interrupt skips the rest.
 * @returns the records and the time (performance.now()) the last one finished.
 */
export async function runChecks(plan: SandboxPlan, ctx: PhaseContext): Promise<{ records: CheckRecord[]; failed: number; endedAt: number }> {
  const records: CheckRecord[] = [];
  let failed = 0;
  for (const [i, check] of plan.checks.entries()) {
    if (ctx.signal?.aborted) {
      records.push({ name: check.name, type: check.type, status: "skipped", expected: "", observed: "skipped: interrupted", assertions: [], durationMs: 0 });
      continue;
    }
    ctx.onEvent?.({ phase: "checks", message: `check ${check.name} (${check.type})` });
    const o = await runCheck(check, i, { sandbox: ctx.sandbox, env: ctx.env, vars: ctx.vars, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    if (!o.ok) failed++;
    records.push({
      name: check.name, type: check.type, status: o.ok ? "passed" : "failed", expected: o.expected, observed: o.observed,
      assertions: o.assertions, ...(o.detail ? { detail: o.detail } : {}), durationMs: o.durationMs,
    });
  }
  return { records, failed, endedAt: performance.now() };
}
