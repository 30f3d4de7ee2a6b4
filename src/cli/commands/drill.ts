/**
 * `restorable drill`: restore one snapshot into a throwaway sandbox, run the
 * post-restore steps, start the application, run the checks, measure RTO
 * and RPO, tear everything down, and record the result on the snapshot.
 * Exit 0 only when every check passed within the budgets; 12 when the drill
 * failed; 130 when interrupted (SIGINT/SIGTERM: the sandbox is torn down
 * first). docs/drills.md has the `drill:` section and the report.
 */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { ConfigError, EXIT_CODES } from "../../core/errors.js";
import { executeDrill, planDrill, reportMarkdown, type DrillReport } from "../../ops/drill.js";
import type { CliContext } from "../context.js";
import { formatBytes, formatDuration } from "../format.js";

interface DrillFlags {
  readonly snapshot?: string;
  readonly keep?: boolean;
  readonly markdown?: string;
}

const MARK = { passed: "ok", failed: "FAILED", skipped: "skipped" } as const;

/** The human summary of a report. */
function humanLines(r: DrillReport): string[] {
  const lines = [`drill of snapshot ${r.snapshot.id} (${r.snapshot.time}) in the ${r.sandbox.kind} sandbox: ${r.status === "passed" ? "PASSED" : r.status === "interrupted" ? "INTERRUPTED" : "FAILED"}`];
  if (r.restore) lines.push(`  restore   ${r.restore.files} files, ${formatBytes(r.restore.bytes)} in ${formatDuration(r.restore.durationMs)}`);
  for (const s of r.sources) lines.push(`  source    ${s.name} (${s.kind}) -> ${s.path || "(not restored)"}${s.env ? ` ($${s.env})` : ""}`);
  for (const s of r.steps) lines.push(`  step      ${s.name} (${s.type}): ${MARK[s.status]}  ${s.observed}`);
  if (r.app) lines.push(`  app       ${r.app.ready ? `ready after ${formatDuration(r.app.readyAfterMs ?? 0)}` : "NOT READY"}: ${r.app.probe}${r.app.ready ? "" : ` (${r.app.observed})`}`);
  for (const c of r.checks) lines.push(`  check     ${c.name} (${c.type}): ${MARK[c.status]}  ${c.status === "failed" ? `expected ${c.expected}; observed ${c.observed}` : c.observed}`);
  const p = r.phases;
  lines.push(`  phases    restore ${p.restoreMs !== undefined ? formatDuration(p.restoreMs) : "-"}, steps ${p.stepsMs !== undefined ? formatDuration(p.stepsMs) : "-"}, start to ready ${p.startToReadyMs !== undefined ? formatDuration(p.startToReadyMs) : "-"}, checks ${p.checksMs !== undefined ? formatDuration(p.checksMs) : "-"}, teardown ${p.teardownMs !== undefined ? formatDuration(p.teardownMs) : "-"}`);
  const rtoBudget = r.budgets.maxRtoMs !== null ? ` (max-rto ${formatDuration(r.budgets.maxRtoMs)}: ${r.budgets.rtoOk === null ? "-" : r.budgets.rtoOk ? "ok" : "EXCEEDED"})` : "";
  lines.push(`  RTO       ${r.rtoMs !== null ? formatDuration(r.rtoMs) : "- (not every check passed)"}${rtoBudget}`);
  const rpoBudget = r.budgets.maxRpoMs !== null ? ` (max-rpo ${formatDuration(r.budgets.maxRpoMs)}: ${r.budgets.rpoOk ? "ok" : "EXCEEDED"})` : "";
  const canary = r.rpo.canaryMs !== null ? `; ${formatDuration(r.rpo.canaryMs)} since the canary (${r.rpo.canaryTime})` : r.rpo.canaryError ? `; canary not found: ${r.rpo.canaryError}` : "";
  lines.push(`  RPO       ${formatDuration(r.rpo.snapshotMs)} since the snapshot${canary}${rpoBudget}`);
  if (r.logTail) lines.push("  log tail:", ...r.logTail.split("\n").slice(-20).map((l) => `    | ${l}`));
  for (const f of r.failures) lines.push(`  failure   ${f.split("\n")[0]}`);
  lines.push(r.sandbox.kept ? `  sandbox   kept at ${r.sandbox.path}` : `  sandbox   ${r.sandbox.path} removed`);
  lines.push(r.recorded.ok ? `  recorded  drill annotation on ${r.snapshot.id}` : `  recorded  NO: ${r.recorded.reason}`);
  return lines;
}

/** Adds `restorable drill` to the program. */
export function registerDrill(program: Command, ctx: CliContext): void {
  program
    .command("drill")
    .description("restore a snapshot into a throwaway sandbox, run post-restore steps, start the application and check it (drill: in restorable.yml)")
    .option("--snapshot <selector>", "which snapshot: id or prefix, latest, latest-before:<ISO time> (default: drill.snapshot, else latest)")
    .option("--keep", "leave the sandbox folder for debugging and print where (the application is still stopped)")
    .option("--markdown <file>", "also write the report as Markdown to this file")
    .action(async (flags: DrillFlags) => {
      const loaded = await ctx.config();
      if (!loaded) throw new ConfigError("restorable drill needs a configuration file with a drill: section: give --config, or put restorable.yml in this folder", { field: "config" });
      await ctx.withRepo(async ({ repo }) => {
        const plan = await planDrill(repo, loaded, { env: ctx.io.env, ...(flags.snapshot !== undefined ? { snapshot: flags.snapshot } : {}) });
        const controller = new AbortController();
        let signalName: string | undefined;
        const unsubscribe = ctx.io.interrupts?.((sig) => {
          if (signalName === undefined) ctx.warn(`${sig} received: stopping the drill and tearing the sandbox down`);
          signalName ??= sig;
          controller.abort();
        });
        let report: DrillReport;
        try {
          report = await executeDrill(repo, plan, {
            keep: flags.keep === true, signal: controller.signal,
            onEvent: (e) => ctx.note(`drill: ${e.message}`),
          });
        } finally {
          unsubscribe?.();
        }
        if (flags.markdown !== undefined) await writeFile(resolve(ctx.io.cwd, flags.markdown), reportMarkdown(report));
        ctx.emit(report, () => humanLines(report));
        if (report.status === "interrupted") ctx.fail(EXIT_CODES.INTERRUPTED, `drill interrupted by ${signalName ?? "a signal"}; the sandbox was ${report.sandbox.kept ? `kept at ${report.sandbox.path}` : "removed"}`);
        else if (!report.ok) ctx.fail(EXIT_CODES.DRILL_FAILED, `drill failed: ${report.failures[0]?.split("\n")[0] ?? "see the report"}${report.failures.length > 1 ? ` (and ${report.failures.length - 1} more)` : ""}`);
        else if (!report.recorded.ok) ctx.warn(`the drill passed but was not recorded on the snapshot: ${report.recorded.reason}`);
      });
    });
}
