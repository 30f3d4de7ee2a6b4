/** `restorable diff SNAPSHOT1 SNAPSHOT2`: added, removed and modified entries. */
import type { Command } from "commander";
import { diffSnapshots } from "../../ops/diff.js";
import { selectSnapshot } from "../../ops/select.js";
import { collect } from "../args.js";
import type { CliContext } from "../context.js";

export function registerDiff(program: Command, ctx: CliContext): void {
  program
    .command("diff")
    .description("compare two snapshots by content hash, type and mode")
    .argument("<snapshot1>", "the older snapshot (selector)")
    .argument("<snapshot2>", "the newer snapshot (selector)")
    .option("--tag <tag>", "select among snapshots carrying this tag (repeatable)", collect, [])
    .action(async (a: string, b: string, flags: { tag: string[] }) => {
      await ctx.withRepo(async ({ repo }) => {
        const from = await selectSnapshot(repo, a, flags.tag);
        const to = await selectSnapshot(repo, b, flags.tag);
        const d = await diffSnapshots(repo, from, to);
        ctx.emit(
          {
            from: d.from, to: d.to,
            added: d.added, removed: d.removed,
            modified: d.modified,
            summary: { added: d.added.length, removed: d.removed.length, modified: d.modified.length },
          },
          () => [
            `diff ${d.from} -> ${d.to}`,
            ...[
              ...d.added.map((e) => [e.path, `+ ${e.path}`] as const),
              ...d.removed.map((e) => [e.path, `- ${e.path}`] as const),
              ...d.modified.map((m) => [m.path, `M ${m.path} (${m.changes.join(", ")})`] as const),
            ].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map(([, line]) => line),
            `${d.added.length} added, ${d.removed.length} removed, ${d.modified.length} modified`,
          ],
        );
      });
    });
}
