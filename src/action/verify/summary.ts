/**
 * The verify action's outputs and job summary: what was checked (level,
 * packs and bytes read), one row per snapshot with its result and first
 * problems, the semantic checks, and the freshness of the newest snapshot.
 */
import type { VerifyReport } from "../../ops/verify/verify.js";
import type { Outputs } from "../outputs.js";
import { bytes, duration, observed, status, table, type SummaryPolicy } from "../summary.js";
import { freshnessLine, type Freshness } from "./freshness.js";

/** The step outputs. `rpo-seconds` is the age of the newest snapshot now: the data a restore now would lose. */
export function verifyOutputs(report: VerifyReport, fresh: Freshness): Outputs {
  return {
    verified: report.ok,
    "snapshot-id": report.snapshots.at(-1)?.id,
    "checked-count": report.snapshots.length,
    "damaged-count": report.snapshots.filter((s) => !s.ok).length,
    level: report.level,
    "rpo-seconds": fresh.ageMs === undefined ? undefined : Math.round(fresh.ageMs / 1000),
    "newest-snapshot-time": fresh.newestTime,
    fresh: fresh.fresh,
  };
}

/** The summary's Markdown (without the history section). */
export function verifyMarkdown(report: VerifyReport, fresh: Freshness, semantic: boolean, policy: SummaryPolicy): string {
  const rows = report.snapshots.map((s) => [
    `\`${s.id}\``,
    status(s.ok),
    s.problems.length ? s.problems.slice(0, 3).map((p) => observed(`${p.path ? `${p.source ? `${p.source}/` : ""}${p.path}: ` : ""}${p.message}`, policy)).join("\n") + (s.problems.length > 3 ? `\n… ${s.problems.length - 3} more` : "") : "-",
    s.semantic.length ? s.semantic.map((c) => `${c.ok ? "✅" : "❌"} ${c.check} ${c.path}`).join("\n") : "-",
  ]);
  const checked = [
    "structure (every referenced chunk indexed, every pack present)",
    ...(report.level === "read-data" ? ["every byte read, decrypted and authenticated"] : []),
    ...(report.level === "read-data-subset" ? ["a subset of the packs read, decrypted and authenticated"] : []),
    ...(semantic ? ["semantic: restored to a temporary folder; SQLite integrity_check, git fsck, JSON parsing"] : []),
  ];
  return [
    `## restorable verify ${report.ok && fresh.fresh ? "✅" : "❌"}`,
    "",
    `Checked: ${checked.join("; ")}.`,
    `${report.snapshots.length} snapshot(s), ${report.snapshots.filter((s) => !s.ok).length} damaged` +
      (report.packsRead ? `; ${report.packsRead} pack(s) read (${bytes(report.bytesRead)}, ${report.chunksChecked} chunks)` : "") +
      `; ${duration(report.durationMs)}.` +
      (report.orphanPacks.length ? ` ${report.orphanPacks.length} orphan pack(s) (left by interrupted snapshots; not a failure).` : ""),
    "",
    report.snapshots.length ? table(["snapshot", "result", "problems", "semantic checks"], rows) : "_No snapshot matched._",
    "",
    freshnessLine(fresh),
    "",
  ].join("\n");
}
