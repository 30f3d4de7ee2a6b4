/** `restorable restore SNAPSHOT --target DIR`: source NAME goes to <target>/NAME/. */
import type { Command } from "commander";
import { restore } from "../../ops/restore/restore.js";
import { selectSnapshot } from "../../ops/select.js";
import { collect } from "../args.js";
import type { CliContext } from "../context.js";
import { formatBytes, formatDuration } from "../format.js";
import { resolve } from "node:path";

interface RestoreFlags {
  readonly target: string;
  readonly inPlace?: boolean;
  readonly include: string[];
  readonly force?: boolean;
  readonly verify?: boolean;
  readonly tag: string[];
}

export function registerRestore(program: Command, ctx: CliContext): void {
  program
    .command("restore")
    .description("restore a snapshot: each source NAME to <target>/NAME/, files with their modes, mtimes and symlinks")
    .argument("<snapshot>", "id or unique id prefix, latest, or latest-before:<ISO time>")
    .requiredOption("--target <dir>", "folder to restore into (created when missing; must be empty unless --in-place)")
    .option("--in-place", "move a non-empty target aside to <target>.pre-restore-<time> first")
    .option("--include <glob>", "only entries matching SOURCE/path globs, with the folders leading to them (repeatable)", collect, [])
    .option("--force", "restore even when the structure check finds problems (damaged files still fail)")
    .option("--verify", "re-read every restored file and compare its SHA-256 with the snapshot")
    .option("--tag <tag>", "select among snapshots carrying this tag (repeatable)", collect, [])
    .action(async (selector: string, flags: RestoreFlags) => {
      await ctx.withRepo(async ({ repo }) => {
        const manifest = await selectSnapshot(repo, selector, flags.tag);
        const progress = ctx.progress("restore", flags.include.length ? {} : { totalBytes: manifest.stats.bytes });
        let r;
        try {
          r = await restore(repo, manifest, {
            target: resolve(ctx.io.cwd, flags.target),
            inPlace: flags.inPlace === true,
            force: flags.force === true,
            verify: flags.verify === true,
            ...(flags.include.length ? { include: flags.include } : {}),
            onProgress: (p) => progress.update(p),
          });
        } finally {
          progress.stop();
        }
        ctx.emit(
          {
            snapshot: r.snapshot, target: r.target, sources: manifest.sources.map((s) => ({ name: s.name, path: `${r.target}/${s.name}` })),
            files: r.files, dirs: r.dirs, symlinks: r.symlinks, bytes: r.bytes, movedAside: r.movedAside ?? null, verified: r.verified, durationMs: r.durationMs,
          },
          () => [
            `restored snapshot ${r.snapshot} to ${r.target}`,
            ...manifest.sources.map((s) => `  ${s.name} (${s.kind}, from ${s.origin}) -> ${r.target}/${s.name}`),
            `  ${r.files} files, ${r.dirs} folders, ${r.symlinks} symlinks, ${formatBytes(r.bytes)} in ${formatDuration(r.durationMs)}`,
            ...(r.movedAside ? [`  previous content moved aside to ${r.movedAside}`] : []),
            ...(r.verified ? ["  every restored file re-read and matched the snapshot"] : []),
          ],
        );
      });
    });
}
