/**
 * The prune action's outputs and job summary: the plan, one row per
 * snapshot kept or removed with every reason (the rules that kept it, or
 * "matched no rule"; protections such as "last passed drill"), and what
 * happens to the packs.
 */
import { parseSnapshotId } from "../../core/snapshot-id.js";
import type { PruneResult } from "../../ops/prune/prune.js";
import type { Outputs } from "../outputs.js";
import { bytes, duration, table } from "../summary.js";

/** The step outputs. */
export function pruneOutputs(result: PruneResult): Outputs {
  const { plan } = result;
  return {
    "removed-count": plan.forget.length,
    "kept-count": plan.keep.length,
    "packs-deleted": result.executed ? result.packsDeleted : plan.deletePacks.length + plan.repackPacks.length + plan.orphanPacks.length,
    "bytes-freed": plan.stats.bytesFreed,
    "dry-run": !result.executed,
  };
}

const when = (id: string): string => {
  try {
    return new Date(parseSnapshotId(id).timeMs).toISOString().replace(".000Z", "Z");
  } catch {
    return "-";
  }
};

/** The summary's Markdown (without the history section). */
export function pruneMarkdown(result: PruneResult): string {
  const { plan } = result;
  const rows = [
    ...plan.keep.map((d) => ["keep", `\`${d.id}\``, when(d.id), d.group || "-", d.reasons.join(", ")]),
    ...plan.forget.map((d) => [result.executed ? "**removed**" : "**remove**", `\`${d.id}\``, when(d.id), d.group || "-", d.reasons.join(", ")]),
  ].sort((a, b) => String(b[2]).localeCompare(String(a[2])));
  const s = plan.stats;
  return [
    `## restorable prune ${result.executed ? "✅" : "(dry run)"}`,
    "",
    result.executed
      ? `Removed ${plan.forget.length} snapshot(s), kept ${plan.keep.length}; ${result.packsDeleted} pack(s) deleted, ${result.packsWritten} written; ${duration(result.durationMs)}.`
      : `Dry run: nothing changed. Would remove ${plan.forget.length} snapshot(s) and keep ${plan.keep.length}.`,
    "",
    rows.length ? table(["decision", "snapshot", "time", "group", "reasons"], rows) : "_No snapshot in the repository._",
    "",
    `Packs: ${s.packsTotal} in storage (${bytes(s.bytesTotal)}); ${plan.deletePacks.length} unused, ${plan.repackPacks.length} to repack, ` +
      `${plan.orphanPacks.length} orphaned, ${plan.youngPacks} younger than the grace period left alone. ` +
      `${result.executed ? "Freed" : "Would free"} about ${bytes(s.bytesFreed)}${s.bytesRepacked ? ` (repacking ${bytes(s.bytesRepacked)})` : ""}.`,
    "",
  ].join("\n");
}
