/** `restorable ls SNAPSHOT [PATH-PREFIX]`: the entries of a snapshot. */
import type { Command } from "commander";
import { listSnapshotFiles } from "../../ops/ls.js";
import { selectSnapshot } from "../../ops/select.js";
import { collect } from "../args.js";
import type { CliContext } from "../context.js";
import { formatMode, shortTime } from "../format.js";

export function registerLs(program: Command, ctx: CliContext): void {
  program
    .command("ls")
    .description("list the files of a snapshot as SOURCE/path (restored to <target>/SOURCE/path)")
    .argument("<snapshot>", "id or unique id prefix, latest, or latest-before:<ISO time>")
    .argument("[prefix]", "only entries at or below this SOURCE/path")
    .option("-l, --long", "show mode, owner, size and modification time")
    .option("--tag <tag>", "select among snapshots carrying this tag (repeatable)", collect, [])
    .action(async (selector: string, prefix: string | undefined, flags: { long?: boolean; tag: string[] }) => {
      await ctx.withRepo(async ({ repo }) => {
        const manifest = await selectSnapshot(repo, selector, flags.tag);
        const entries = await listSnapshotFiles(repo, manifest, prefix ?? "");
        ctx.emit({ snapshot: manifest.id, entries }, () => {
          if (!flags.long) return entries.map((e) => e.path);
          const width = Math.max(1, ...entries.map((e) => String(e.size).length));
          return entries.map((e) =>
            `${formatMode(e.type, e.mode)}  ${String(e.uid).padStart(5)} ${String(e.gid).padStart(5)}  ${String(e.size).padStart(width)}  ${shortTime(e.mtime)}  ${e.path}${e.target !== undefined ? ` -> ${e.target}` : ""}`,
          );
        });
      });
    });
}
