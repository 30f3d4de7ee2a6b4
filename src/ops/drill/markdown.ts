/**
 * The drill report as Markdown (GitHub-flavoured tables), for job summaries
 * and pull-request comments: verdict, RTO/RPO against the budgets,
 * failures, sources, phases, steps, application, checks, and the tail of
 * the application's log when it matters.
 */
import type { DrillReport } from "./report.js";
import { humanMs } from "./report.js";

/** A table cell: pipes escaped, newlines as spaces, cut at 300 characters. */
function cell(text: string): string {
  const t = text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|");
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

const mark = (s: string): string => (s === "passed" ? "✅ passed" : s === "failed" ? "❌ FAILED" : "⏭ skipped");
const dur = (ms: number | undefined | null): string => (ms === undefined || ms === null ? "-" : humanMs(ms));

/** The report as a Markdown document. */
export function reportMarkdown(r: DrillReport): string {
  const out: string[] = [];
  const verdict = r.status === "passed" ? "✅ PASSED" : r.status === "interrupted" ? "⚠️ INTERRUPTED" : "❌ FAILED";
  out.push(`# Restore drill ${verdict}`, "");
  const rto = r.rtoMs !== null ? humanMs(r.rtoMs) : "- (not every check passed)";
  const rtoBudget = r.budgets.maxRtoMs !== null ? ` (max-rto ${humanMs(r.budgets.maxRtoMs)}: ${r.budgets.rtoOk === null ? "-" : r.budgets.rtoOk ? "ok" : "EXCEEDED"})` : "";
  const rpoParts = [`${humanMs(r.rpo.snapshotMs)} since the snapshot`];
  if (r.rpo.canaryMs !== null) rpoParts.push(`${humanMs(r.rpo.canaryMs)} since the canary (${r.rpo.canaryTime})`);
  if (r.rpo.canaryError) rpoParts.push(`canary not found: ${r.rpo.canaryError}`);
  const rpoBudget = r.budgets.maxRpoMs !== null ? ` (max-rpo ${humanMs(r.budgets.maxRpoMs)}: ${r.budgets.rpoOk ? "ok" : "EXCEEDED"})` : "";
  out.push(
    "| | |", "|---|---|",
    `| snapshot | \`${r.snapshot.id}\` (${r.snapshot.time}, host ${cell(r.snapshot.host)}${r.snapshot.tags.length ? `, tags ${cell(r.snapshot.tags.join(", "))}` : ""}) |`,
    `| sandbox | ${r.sandbox.kind}: \`${r.sandbox.path}\` (${r.sandbox.kept ? "kept" : "removed"}) |`,
    `| started | ${r.startedAt} (${humanMs(r.durationMs)} in all) |`,
    `| RTO | ${rto}${rtoBudget} |`,
    `| RPO | ${cell(rpoParts.join("; "))}${rpoBudget} |`,
    `| recorded | ${r.recorded.ok ? "drill annotation stored on the snapshot" : `not recorded: ${cell(r.recorded.reason ?? "")}`} |`,
    "",
  );
  if (r.failures.length) out.push("## Failures", "", ...r.failures.map((f) => `- ${f.replace(/\n/g, " ")}`), "");
  out.push("## Sources", "", "| source | kind | entries | size | restored to |", "|---|---|---:|---:|---|");
  for (const s of r.sources) out.push(`| ${cell(s.name)} | ${s.kind} | ${s.entries} | ${bytes(s.bytes)} | \`${cell(s.path)}\`${s.env ? ` (\`$${s.env}\`)` : ""} |`);
  out.push("", "## Phases", "", "| phase | duration |", "|---|---:|",
    `| restore | ${dur(r.phases.restoreMs)} |`, `| post-restore steps | ${dur(r.phases.stepsMs)} |`,
    `| start to ready | ${dur(r.phases.startToReadyMs)} |`, `| checks | ${dur(r.phases.checksMs)} |`, `| teardown | ${dur(r.phases.teardownMs)} |`, "");
  if (r.steps.length) {
    out.push("## Post-restore steps", "", "| # | step | type | result | observed | duration |", "|---:|---|---|---|---|---:|");
    r.steps.forEach((s, i) => out.push(`| ${i + 1} | ${cell(s.name)} | ${s.type} | ${mark(s.status)} | ${cell(s.observed)} | ${dur(s.durationMs)} |`));
    out.push("");
  }
  if (r.app) {
    out.push("## Application", "", `- command: \`${cell(r.app.command.join(" "))}\``, `- readiness: ${cell(r.app.probe)}: ${r.app.ready ? `ready after ${dur(r.app.readyAfterMs)}` : "NOT READY"} (${cell(r.app.observed)})`);
    if (r.app.pid !== undefined) out.push(`- process group: ${r.app.pid}${r.app.stop ? `, stopped with ${r.app.stop.how === "none" ? "nothing to stop (it had exited)" : r.app.stop.how}` : ""}`);
    out.push("");
  }
  if (r.commands?.length) {
    out.push("## Commands", "", "| command | result |", "|---|---|");
    for (const c of r.commands) out.push(`| \`${cell(c.argv.join(" "))}\` | ${c.ok ? "ok" : "FAILED"}: ${cell(c.observed)} |`);
    out.push("");
  }
  out.push("## Checks", "", "| check | type | result | expected | observed | duration |", "|---|---|---|---|---|---:|");
  for (const c of r.checks) out.push(`| ${cell(c.name)} | ${c.type} | ${mark(c.status)} | ${cell(c.expected)} | ${cell(c.observed)} | ${dur(c.durationMs)} |`);
  out.push("");
  if (r.logTail) out.push("## Log tail", "", "```text", r.logTail.replace(/```/g, "'''"), "```", "");
  if (r.teardown.problems.length) out.push("## Teardown problems", "", ...r.teardown.problems.map((p) => `- ${p}`), "");
  return out.join("\n");
}
