/** `restorable verify [SNAPSHOT]`: structure, data and semantic checks; exit 7 on damage. */
import type { Command } from "commander";
import { ConfigError, EXIT_CODES } from "../../core/errors.js";
import type { SnapshotManifest } from "../../core/manifest.js";
import { selectSnapshot } from "../../ops/select.js";
import { verify } from "../../ops/verify/verify.js";
import { collect, parsePercent } from "../args.js";
import type { CliContext } from "../context.js";
import { formatBytes, formatDuration } from "../format.js";

/** `SOURCE/path` of a problem (semantic problems carry it whole in `path`). */
function problemPath(p: { source?: string; path?: string }): string {
  return p.source ? `${p.source}/${p.path ?? ""}` : (p.path ?? "");
}

interface VerifyFlags {
  readonly all?: boolean;
  readonly readData?: boolean;
  readonly readDataSubset?: string;
  readonly seed?: string;
  readonly semantic?: boolean;
  readonly tag: string[];
}

export function registerVerify(program: Command, ctx: CliContext): void {
  program
    .command("verify")
    .description("check snapshots: structure always; --read-data reads every byte; --semantic restores and checks databases, git and JSON")
    .argument("[snapshot]", "one snapshot (selector); default: all snapshots")
    .option("--all", "every snapshot (the default when no SNAPSHOT is given)")
    .option("--read-data", "read, decrypt and authenticate every chunk the snapshots use")
    .option("--read-data-subset <percent>", "read only this share of the packs, e.g. 10%")
    .option("--seed <text>", "seed that picks the --read-data-subset packs (default: the time)")
    .option("--semantic", "restore each snapshot to a temporary folder and run SQLite integrity_check, git fsck and JSON parsing")
    .option("--tag <tag>", "only snapshots carrying this tag (repeatable)", collect, [])
    .action(async (selector: string | undefined, flags: VerifyFlags) => {
      if (selector !== undefined && flags.all) throw new ConfigError("give either a SNAPSHOT or --all, not both", { field: "snapshot" });
      const subset = flags.readDataSubset !== undefined ? parsePercent(flags.readDataSubset, "--read-data-subset") : undefined;
      const jsonFiles = (await ctx.config())?.config.verify?.json ?? [];
      await ctx.withRepo(async ({ repo }) => {
        let manifests: SnapshotManifest[];
        if (selector !== undefined) manifests = [await selectSnapshot(repo, selector, flags.tag)];
        else manifests = (await repo.listSnapshots()).filter((m) => flags.tag.every((t) => m.tags.includes(t)));
        const progress = ctx.progress("verify", { unit: "packs read", bytes: false });
        let report;
        try {
          report = await verify(repo, manifests, {
            readData: flags.readData === true,
            ...(subset !== undefined ? { readDataSubsetPercent: subset } : {}),
            ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
            semantic: flags.semantic === true,
            jsonFiles,
            onProgress: (p) => progress.update({ files: p.done, bytes: 0, totalFiles: p.total }),
          });
        } finally {
          progress.stop();
        }
        const damaged = report.snapshots.filter((s) => !s.ok);
        const global = report.snapshots.length === 0 && !report.ok;
        ctx.emit(
          {
            ok: report.ok, level: report.level, semantic: flags.semantic === true,
            snapshots: report.snapshots, packsRead: report.packsRead, bytesRead: report.bytesRead, chunksChecked: report.chunksChecked,
            orphanPacks: report.orphanPacks, annotated: report.annotated, durationMs: report.durationMs,
          },
          () => [
            ...(manifests.length === 0 ? ["no snapshots to verify"] : []),
            ...report.snapshots.flatMap((s) => [
              `${s.id}  ${s.ok ? "ok" : "DAMAGED"}${s.semantic.length ? ` (${s.semantic.length} semantic check(s))` : ""}`,
              ...s.problems.map((p) => `    ${p.path !== undefined ? `${problemPath(p)}: ` : ""}${p.message}`),
              ...s.semantic.filter((c) => c.ok).map((c) => `    ${c.check} ${c.path}: ok`),
            ]),
            ...(report.orphanPacks.length ? [`${report.orphanPacks.length} orphan pack(s) no index lists (left by interrupted snapshots; not a failure)`] : []),
            `verify ${report.level}${flags.semantic ? "+semantic" : ""}: ${report.snapshots.length - damaged.length} of ${report.snapshots.length} snapshot(s) ok` +
              (report.packsRead ? `, ${report.packsRead} pack(s) read (${formatBytes(report.bytesRead)}, ${report.chunksChecked} chunks)` : "") +
              `, ${formatDuration(report.durationMs)}`,
          ],
        );
        if (!report.ok) {
          const files = damaged.flatMap((s) => s.problems.filter((p) => p.path !== undefined).map((p) => `${s.id}:${problemPath(p)}`));
          ctx.fail(
            EXIT_CODES.INTEGRITY,
            global
              ? "verify found damage"
              : `verify found damage in ${damaged.length} snapshot(s): ${damaged.map((s) => s.id).join(", ")}${files.length ? `; files: ${files.slice(0, 10).join(", ")}${files.length > 10 ? `, and ${files.length - 10} more` : ""}` : ""}`,
          );
        }
      });
    });
}
