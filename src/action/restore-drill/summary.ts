/**
 * The restore-drill action's outputs and job summary: the verdict, RTO and
 * RPO against the budgets, every post-restore step and check with pass or
 * fail, the failures, and the tail of the application's log. Observed values
 * and the log may hold private data: they go through `observed()` (cut to
 * `summary-max-value`, or hidden with `redact`).
 */
import { humanMs, type DrillReport } from "../../ops/drill.js";
import type { Outputs } from "../outputs.js";
import { bytes, cell, duration, observed, status, table, truncate, type SummaryPolicy } from "../summary.js";

/** Seconds (outputs keep three decimals: a fast drill's RTO is not 0). */
const secs = (ms: number | null | undefined): number | undefined => (ms === null || ms === undefined ? undefined : ms / 1000);

/** RPO used against the budget: the larger of snapshot age and canary age. */
function rpoMs(r: DrillReport): number {
  return Math.max(r.rpo.canaryMs ?? 0, r.rpo.snapshotMs);
}

/** The step outputs. */
export function drillOutputs(r: DrillReport, reportFile: string | undefined): Outputs {
  return {
    "drill-passed": r.ok,
    "snapshot-id": r.snapshot.id,
    "rto-seconds": secs(r.rtoMs),
    "rpo-seconds": secs(rpoMs(r)),
    "checks-passed": r.checks.filter((c) => c.status === "passed").length,
    "checks-failed": r.checks.filter((c) => c.status === "failed").length,
    recorded: r.recorded.ok,
    "report-file": reportFile,
  };
}

/**
 * A failure line (`check items failed: <observed>`, `step x failed: <observed>`): the part before the first
 * `: ` names what failed and stays; what follows may quote observed data and goes through `observed()`.
 * Lines without `: ` (budgets exceeded, interrupted) carry no observed data and stay whole (up to 300 characters).
 */
export function failureLine(text: string, policy: SummaryPolicy): string {
  const i = text.indexOf(": ");
  if (i < 0) return truncate(text, 300); // budget and interrupt lines: no observed data

  return `${text.slice(0, i)}: ${observed(text.slice(i + 2), policy)}`;
}

const mark = (s: "passed" | "failed" | "skipped"): string => status(s === "skipped" ? "skipped" : s === "passed");

/** The summary's Markdown (without the history section). */
export function drillMarkdown(r: DrillReport, policy: SummaryPolicy): string {
  const verdict = r.status === "passed" ? "✅ passed" : r.status === "interrupted" ? "⚠️ interrupted" : "❌ FAILED";
  const budget = (ok: boolean | null, max: number | null, name: string): string => (max === null ? "" : ` (${name} ${humanMs(max)}: ${ok === null ? "-" : ok ? "ok" : "**exceeded**"})`);
  const out = [
    `## restorable restore drill ${verdict}`,
    "",
    `Snapshot \`${r.snapshot.id}\` (${r.snapshot.time}), ${r.sandbox.kind} sandbox` +
      (r.restore ? `; restored ${r.restore.files} files, ${bytes(r.restore.bytes)} in ${duration(r.restore.durationMs)}` : "") + ".",
    "",
    table(["", ""], [
      ["RTO", `${r.rtoMs !== null ? humanMs(r.rtoMs) : "- (not every check passed)"}${budget(r.budgets.rtoOk, r.budgets.maxRtoMs, "max-rto")}`],
      ["RPO", `${humanMs(rpoMs(r))}${r.rpo.canaryMs !== null ? " (canary)" : " (snapshot age)"}${budget(r.budgets.rpoOk, r.budgets.maxRpoMs, "max-rpo")}`],
      ["recorded", r.recorded.ok ? "drill result stored on the snapshot" : `no: ${r.recorded.reason ?? ""}`],
    ]),
    "",
  ];
  if (r.failures.length) {
    out.push("### Failures", "", ...r.failures.slice(0, 10).map((f) => `- ${cell(failureLine(f, policy))}`), "");
  }
  if (r.steps.length) {
    out.push("### Post-restore steps", "", table(["step", "type", "result", "observed", "duration"], r.steps.map((s) => [s.name, s.type, mark(s.status), observed(s.observed, policy) || "-", duration(s.durationMs)]), "llllr"), "");
  }
  if (r.app) out.push(`Application: ${r.app.ready ? `ready after ${duration(r.app.readyAfterMs ?? 0)}` : "**not ready**"} (${cell(r.app.probe)}).`, "");
  out.push("### Checks", "", r.checks.length
    ? table(["check", "type", "result", "expected", "observed", "duration"], r.checks.map((c) => [c.name, c.type, mark(c.status), c.expected, observed(c.observed, policy) || "-", duration(c.durationMs)]), "lllllr")
    : "_No check ran._", "");
  if (r.logTail) {
    const tail = observed(r.logTail.split("\n").slice(-20).join("\n"), { ...policy, maxValue: policy.maxValue * 5 });
    out.push("<details><summary>Application log (tail)</summary>", "", "```text", tail.replace(/```/g, "'''"), "```", "</details>", "");
  }
  return out.join("\n");
}
