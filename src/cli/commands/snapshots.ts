/** `restorable snapshots`: the snapshot table, with the latest verify and drill results. */
import type { Command } from "commander";
import { listSnapshotRows, type CheckResult } from "../../ops/snapshots.js";
import { collect } from "../args.js";
import type { CliContext } from "../context.js";
import { formatBytes, shortTime, table } from "../format.js";

function checkCell(c: CheckResult | null): string {
  if (!c) return "-";
  return `${c.ok ? "ok" : "FAILED"} ${c.at.slice(0, 10)}${c.level ? ` (${c.level})` : ""}`;
}

export function registerSnapshots(program: Command, ctx: CliContext): void {
  program
    .command("snapshots")
    .description("list snapshots, oldest first")
    .option("--tag <tag>", "only snapshots carrying this tag (repeatable: all of them)", collect, [])
    .action(async (flags: { tag: string[] }) => {
      await ctx.withRepo(async ({ repo }) => {
        const { rows, damagedAnnotations } = await listSnapshotRows(repo, { tags: flags.tag });
        for (const key of damagedAnnotations) ctx.warn(`annotation ${key} failed authentication and was ignored`);
        ctx.emit({ snapshots: rows }, () => {
          if (rows.length === 0) return [flags.tag.length ? `no snapshots with tags ${flags.tag.join(", ")}` : "no snapshots yet"];
          return [
            ...table(
              ["ID", "TIME", "HOST", "TAGS", "FILES", "SIZE", "ADDED", "VERIFY", "DRILL", "PINNED"],
              rows.map((r) => [r.id, shortTime(r.time), r.host, r.tags.join(",") || "-", String(r.files), formatBytes(r.bytes), formatBytes(r.bytesAdded), checkCell(r.verify), checkCell(r.drill), r.pinned ? "yes" : ""]),
              [4, 5, 6],
            ),
            `${rows.length} snapshot(s)`,
          ];
        });
      });
    });
}
