/**
 * The clone-cluster action's outputs and job summary: which snapshot
 * (and how far before the target time), where the clone is, what was
 * removed to keep it free of repository configuration, and each health
 * check with pass, fail or skipped.
 */
import type { CloneResult } from "../../ops/clone/clone.js";
import type { Outputs } from "../outputs.js";
import { bytes, duration, observed, status, table, type SummaryPolicy } from "../summary.js";

/** The step outputs. */
export function cloneOutputs(r: CloneResult): Outputs {
  return {
    "snapshot-id": r.snapshot.id,
    "snapshot-time": r.snapshot.time,
    target: r.target,
    files: r.files,
    bytes: r.bytes,
    "drill-passed": r.checksOk === null ? undefined : r.checksOk,
    "checks-passed": r.checks.filter((c) => c.status === "passed").length,
    "checks-failed": r.checks.filter((c) => c.status === "failed").length,
    "rpo-seconds": Math.round(r.rpoMs / 1000),
    "rto-seconds": r.dryRun ? undefined : r.durationMs / 1000,
    "dry-run": r.dryRun,
  };
}

/** The summary's Markdown. */
export function cloneMarkdown(r: CloneResult, policy: SummaryPolicy): string {
  const head = r.dryRun ? "(dry run)" : r.checksOk === false ? "❌" : "✅";
  const out = [
    `## restorable clone ${head}`,
    "",
    `Snapshot \`${r.snapshot.id}\` (${r.snapshot.time}, host \`${r.snapshot.host}\`), ${duration(r.rpoMs)} before the requested point in time.`,
    r.dryRun
      ? `Dry run: would restore ${r.files} files (${bytes(r.bytes)}) to \`${r.target}\`; nothing was written.`
      : `Cloned ${r.files} files (${bytes(r.bytes)}) to \`${r.target}\` in ${duration(r.durationMs)}` +
        (r.kind === "s3" ? (r.objects ? ` as ${r.objects} plain objects.` : ": **nothing exported** (a health check failed).") : "."),
    r.removedConfig.length ? `Removed ${r.removedConfig.length} repository configuration file(s) the snapshot carried (${r.removedConfig.map((f) => `\`${f}\``).join(", ")}): the clone cannot write backups into the source repository.` : "The clone carries no repository configuration.",
    "",
  ];
  if (r.checks.length) {
    out.push("### Health checks (drill.checks)", "", table(["check", "type", "result", "expected", "observed"], r.checks.map((c) => [c.name, c.type, status(c.status === "skipped" ? "skipped" : c.status === "passed"), c.expected, observed(c.observed, policy) || "-"])), "");
  } else if (!r.dryRun) {
    out.push("_No health check ran (no drill.checks in restorable.yml, or checks: false)._", "");
  }
  return out.join("\n");
}
