/** `restorable unlock [--force]`: remove stale locks (all locks with --force). */
import type { Command } from "commander";
import { listLocks, unlock } from "../../repo/lock.js";
import type { CliContext } from "../context.js";

export function registerUnlock(program: Command, ctx: CliContext): void {
  program
    .command("unlock")
    .description("remove stale locks left by crashed processes; --force removes every lock")
    .option("--force", "remove fresh locks too (only when you know their holders are gone)")
    .action(async (flags: { force?: boolean }) => {
      await ctx.withRepo(async ({ repo }) => {
        const removed = await unlock(repo, { force: flags.force === true });
        const remaining = (await listLocks(repo)).map((l) => ({
          key: l.key, stale: l.stale, kind: l.info?.kind ?? null, purpose: l.info?.purpose ?? null, host: l.info?.host ?? null, pid: l.info?.pid ?? null,
          refreshedAt: l.info ? new Date(l.info.refreshedAt).toISOString() : new Date(l.lastModified).toISOString(),
        }));
        ctx.emit({ removed, remaining }, () => [
          `removed ${removed.length} lock(s)${removed.length ? `: ${removed.join(", ")}` : ""}`,
          ...remaining.map((l) => `still held: ${l.key} (${l.kind ?? "?"} lock for ${l.purpose ?? "?"} by ${l.host ?? "?"} pid ${l.pid ?? "?"}, refreshed ${l.refreshedAt}); --force removes it`),
        ]);
      });
    });
}
