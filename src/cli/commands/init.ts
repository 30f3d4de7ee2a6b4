/** `restorable init`: create a repository, probing the store's capabilities. */
import type { Command } from "commander";
import { capabilityWarnings } from "../../ops/open.js";
import type { CliContext } from "../context.js";

const yes = (b: boolean): string => (b ? "yes" : "NO");

export function registerInit(program: Command, ctx: CliContext): void {
  program
    .command("init")
    .description("create a repository at --repo / RESTORABLE_REPOSITORY, probing what the store can do")
    .action(async () => {
      await ctx.withNewRepo(async ({ repo, location }) => {
        const caps = repo.config.capabilities;
        const warnings = capabilityWarnings(caps);
        for (const w of warnings) ctx.warn(w);
        ctx.emit(
          { repository: { id: repo.config.id, location, format: repo.config.format, createdAt: repo.config.createdAt, keyId: repo.slot.id }, capabilities: caps, warnings },
          () => [
            `created repository ${repo.config.id} at ${location}`,
            `store capabilities (probed ${caps.probedAt}):`,
            `  conditional create (If-None-Match / O_EXCL)  ${yes(caps.conditionalCreate)}`,
            `  read after write                             ${yes(caps.readAfterWrite)}`,
            `  list after write                             ${yes(caps.listAfterWrite)}`,
            `first key slot: ${repo.slot.id} (${repo.slot.kind})`,
          ],
        );
      });
    });
}
