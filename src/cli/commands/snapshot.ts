/** `restorable snapshot [PATH...]`: back up paths, or the sources of restorable.yml. */
import { resolve } from "node:path";
import type { Command } from "commander";
import { writeCanary } from "../../checks/canary.js";
import { configSourceSpecs, pathSourceSpecs } from "../../config/sources.js";
import { ConfigError, EXIT_CODES } from "../../core/errors.js";
import { snapshot, type SourceSpec } from "../../ops/snapshot/snapshot.js";
import { collect, parseTimeOption } from "../args.js";
import type { CliContext } from "../context.js";
import { formatBytes, formatDuration } from "../format.js";

interface SnapshotFlags {
  readonly tag: string[];
  readonly time?: string;
  readonly host?: string;
}

export function registerSnapshot(program: Command, ctx: CliContext): void {
  program
    .command("snapshot")
    .description("back up PATHs (folders, or single SQLite database files), or the sources: of restorable.yml")
    .argument("[paths...]", "folders or SQLite files; when none, the sources of the configuration file")
    .option("--tag <tag>", "add a tag (repeatable)", collect, [])
    .option("--time <iso>", "record this snapshot time instead of now (ISO 8601)")
    .option("--host <name>", "record this host name instead of the machine's")
    .action(async (paths: string[], flags: SnapshotFlags) => {
      const time = flags.time !== undefined ? parseTimeOption(flags.time, "--time") : undefined;
      const loaded = await ctx.config();
      let sources: SourceSpec[];
      let fromConfig = false;
      if (paths.length > 0) sources = await pathSourceSpecs(paths, ctx.io.cwd);
      else if (loaded) {
        sources = configSourceSpecs(loaded);
        fromConfig = true;
      } else throw new ConfigError("nothing to back up: name PATHs (restorable snapshot PATH...) or give a restorable.yml with sources: (--config)", { field: "sources" });
      const file = fromConfig ? loaded?.config : undefined;
      const tags = [...new Set([...(file?.tags ?? []), ...flags.tag])];
      // The repository opens (scrypt) while the snapshot starts walking the sources.
      await ctx.withRepoOpening(async (opening) => {
        // The RPO canary (docs/drills.md): a marker row with the current time, written just before the sources are
        // read, once the repository opened (a wrong password writes nothing).
        let canary: string | null = null;
        if (loaded && file?.drill?.canary) {
          await opening;
          try {
            canary = writeCanary(resolve(loaded.dir, file.drill.canary.db), file.drill.canary.write);
          } catch (err) {
            ctx.warn(`drill.canary: could not write the canary into ${file.drill.canary.db}: ${(err as Error).message} (the snapshot goes on; a drill will find an older canary or none)`);
          }
        }
        const progress = ctx.progress("snapshot");
        let result;
        try {
          result = await snapshot(opening.then((o) => o.repo), {
            sources, tags,
            ...(time ? { time } : {}),
            ...(flags.host ? { host: flags.host } : {}),
            ...(file?.hooks ? { hooks: file.hooks } : {}),
            ...(file?.env ? { envAllow: file.env } : {}),
            onProgress: (p) => progress.update({ files: p.files, bytes: p.bytesRead }),
            onWarning: (w) => ctx.warn(`${w.path}: ${w.message}`),
          });
        } finally {
          progress.stop();
        }
        const m = result.manifest;
        const s = m.stats;
        ctx.emit(
          {
            snapshot: { id: m.id, time: m.time, host: m.host, tags: m.tags, parent: m.parent ?? null },
            sources: m.sources.map((r) => ({ name: r.name, kind: r.kind, origin: r.origin, entries: r.entries, bytes: r.bytes, databases: r.databases.map((d) => ({ ...d, capturedAt: new Date(d.capturedAt).toISOString() })) })),
            files: s.files, dirs: s.dirs, symlinks: s.symlinks, bytes: s.bytes, bytesRead: s.bytesRead, bytesAdded: s.bytesAdded,
            chunksNew: s.chunksNew, chunksTotal: s.chunksTotal, packsWritten: s.packsWritten, durationMs: s.durationMs,
            structureCheck: result.checked ? "ok" : "failed",
            canary,
            warnings: result.warnings,
          },
          () => [
            `snapshot ${m.id} saved`,
            `  sources    ${m.sources.map((r) => `${r.name} (${r.kind}${r.databases.length ? `, ${r.databases.length} SQLite database(s)` : ""})`).join(", ")}`,
            `  files      ${s.files} (${s.dirs} folders, ${s.symlinks} symlinks), ${formatBytes(s.bytes)}`,
            `  read       ${formatBytes(s.bytesRead)}`,
            `  added      ${formatBytes(s.bytesAdded)} (after dedup and compression)`,
            `  duration   ${formatDuration(s.durationMs)}`,
            `  structure  ${result.checked ? "checked, ok" : "CHECK FAILED"}`,
            ...(canary ? [`  canary     ${canary} written to ${file?.drill?.canary?.db ?? ""}`] : []),
            ...(result.warnings.length ? [`  warnings   ${result.warnings.length} (see above)`] : []),
          ],
        );
        if (!result.checked) ctx.fail(EXIT_CODES.INTEGRITY, `snapshot ${m.id} was committed but its structure check failed; run \`restorable verify ${m.id}\``);
      });
    });
}
