/** `restorable repair index`: rebuild the index from the pack headers. */
import type { Command } from "commander";
import { EXIT_CODES } from "../../core/errors.js";
import { repairIndex } from "../../ops/repair/repair-index.js";
import type { CliContext } from "../context.js";

export function registerRepair(program: Command, ctx: CliContext): void {
  const repair = program.command("repair").description("rebuild repository metadata");
  repair
    .command("index")
    .description("rebuild the index from the headers of every pack (holds the exclusive lock)")
    .action(async () => {
      await ctx.withRepo(async ({ repo }) => {
        const r = await repairIndex(repo);
        ctx.emit(
          { packs: r.packs, chunks: r.chunks, damagedPacks: r.damagedPacks, newIndexFile: r.newIndexFile ?? null, removedIndexFiles: r.removedIndexFiles },
          () => [
            `index rebuilt from ${r.packs} pack(s): ${r.chunks} chunk(s)${r.newIndexFile ? `, new index file ${r.newIndexFile}` : ""}; ${r.removedIndexFiles.length} old index file(s) removed`,
            ...r.damagedPacks.map((d) => `  damaged pack ${d.pack}: ${d.message}`),
          ],
        );
        if (r.damagedPacks.length) ctx.fail(EXIT_CODES.INTEGRITY, `${r.damagedPacks.length} pack(s) have unreadable headers; their chunks are missing from the index (run \`restorable verify\` to see which snapshots are affected)`);
      });
    });
}
