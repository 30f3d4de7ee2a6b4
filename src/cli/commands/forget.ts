/**
 * `restorable forget ID...`: remove named snapshots (their data goes at the
 * next prune), e.g. one that captured a secret by mistake. A protected
 * snapshot (newest of its group, last passed verify or drill, pinned) needs --force.
 * `restorable pin ID` / `unpin ID`: protect a snapshot from retention, or stop protecting it.
 */
import type { Command } from "commander";
import { addAnnotation } from "../../repo/annotations.js";
import { prune } from "../../ops/prune/prune.js";
import { selectSnapshot } from "../../ops/select.js";
import type { CliContext } from "../context.js";

export function registerForget(program: Command, ctx: CliContext): void {
  program
    .command("forget")
    .description("remove named snapshots; their data is removed by the next prune")
    .argument("<snapshot...>", "snapshot ids (or unique prefixes)")
    .option("--force", "also forget protected snapshots (newest of group, last verified or drilled, pinned)")
    .option("--dry-run", "say what would be forgotten and change nothing")
    .action(async (selectors: string[], flags: { force?: boolean; dryRun?: boolean }) => {
      await ctx.withRepo(async ({ repo }) => {
        const ids = [];
        for (const s of selectors) ids.push((await selectSnapshot(repo, s)).id);
        // Forgetting is a prune that stops after removing these manifests: same lock, same protections.
        const result = await prune(repo, { forget: ids, force: flags.force === true, dryRun: flags.dryRun === true, removeData: false });
        ctx.emit({ executed: result.executed, forget: result.plan.forget }, () => [
          ...result.plan.forget.map((d) => `${result.executed ? "forgot" : "would forget"} ${d.id}`),
          ...(result.executed ? ["run `restorable prune` to remove the data no snapshot uses any more"] : []),
        ]);
      });
    });

  for (const type of ["pin", "unpin"] as const) {
    program
      .command(type)
      .description(type === "pin" ? "protect a snapshot from retention (prune keeps it)" : "stop protecting a pinned snapshot")
      .argument("<snapshot>", "snapshot selector")
      .action(async (selector: string) => {
        await ctx.withRepo(async ({ repo }) => {
          const m = await selectSnapshot(repo, selector);
          await addAnnotation(repo, m.id, { type, at: new Date().toISOString() });
          ctx.emit({ snapshot: m.id, pinned: type === "pin" }, () => [`${type === "pin" ? "pinned" : "unpinned"} ${m.id}`]);
        });
      });
  }
}
