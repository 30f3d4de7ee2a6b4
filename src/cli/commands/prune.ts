/**
 * `restorable prune`: apply the retention policy (flags, else `retention:` of
 * restorable.yml, else none) and remove the data no kept snapshot uses.
 * `--dry-run` prints the plan: every snapshot kept or forgotten, with its reasons.
 */
import type { Command } from "commander";
import { ConfigError } from "../../core/errors.js";
import { COUNT_KEYS, WITHIN_KEYS, parsePolicy, type RetentionPolicy } from "../../core/retention.js";
import { prune } from "../../ops/prune/prune.js";
import { collect, parsePercent } from "../args.js";
import type { CliContext } from "../context.js";
import { formatBytes, formatDuration } from "../format.js";

type PruneFlags = Record<string, string | string[] | boolean | undefined> & {
  readonly keepTag: string[];
  readonly dryRun?: boolean;
  readonly allowEmpty?: boolean;
  readonly maxUnused?: string;
  readonly grace?: string;
  readonly groupBy?: string;
  readonly timeZone?: string;
};

/** commander's camelCase name of a `--keep-...` option. */
const camel = (key: string): string => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The policy from flags, or undefined when no `--keep-*` flag was given. */
function policyFromFlags(flags: PruneFlags): RetentionPolicy | undefined {
  const raw: Record<string, unknown> = {};
  for (const key of COUNT_KEYS) {
    const v = flags[camel(key)];
    if (v !== undefined) raw[key] = /^\d+$/.test(String(v)) ? Number(v) : v;
  }
  for (const key of WITHIN_KEYS) if (flags[camel(key)] !== undefined) raw[key] = flags[camel(key)];
  if (flags.keepTag.length) raw["keep-tag"] = flags.keepTag;
  if (Object.keys(raw).length === 0) return undefined;
  if (flags.groupBy !== undefined) raw["group-by"] = flags.groupBy;
  if (flags.timeZone !== undefined) raw["time-zone"] = flags.timeZone;
  try {
    return parsePolicy(raw, "");
  } catch (err) {
    // Name the flag: "--keep-daily: expected a non-negative integer".
    if (err instanceof ConfigError) throw new ConfigError(`--${err.message}`, { ...err.details });
    throw err;
  }
}

/** `1h`, `30m`, `0`: the grace period in ms. */
function parseGrace(text: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new ConfigError(`--grace: expected a duration such as 1h, 30m or 0, got "${text}"`, { field: "--grace" });
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? "s") as "s"];
}

export function registerPrune(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("prune")
    .description("forget snapshots the retention policy does not keep, then remove data no kept snapshot uses");
  for (const key of COUNT_KEYS) cmd.option(`--${key} <n>`, `retention: ${key.replace("keep-", "")} count`);
  for (const key of WITHIN_KEYS) cmd.option(`--${key} <duration>`, `retention: ${key} (e.g. 7d, 1y2m)`);
  cmd
    .option("--keep-tag <tag>", "keep every snapshot with this tag (repeatable)", collect, [])
    .option("--group-by <key>", "sources (default), tags or none")
    .option("--time-zone <zone>", "IANA zone for days, weeks, months (default UTC)")
    .option("--dry-run", "print the plan and change nothing")
    .option("--allow-empty", "accept a policy whose rules keep nothing (protected snapshots still stay)")
    .option("--max-unused <percent>", "repack packs with more unused data than this (default 5%)")
    .option("--grace <duration>", "leave packs younger than this alone: they may belong to a snapshot in flight (default 1h)")
    .action(async (flags: PruneFlags) => {
      const parsed = policyFromFlags(flags) ?? (await ctx.config())?.config.retention;
      await ctx.withRepo(async ({ repo }) => {
        const result = await prune(repo, {
          ...(parsed ? { policy: parsed } : {}),
          dryRun: flags.dryRun === true,
          allowEmpty: flags.allowEmpty === true,
          ...(flags.maxUnused !== undefined ? { maxUnused: parsePercent(flags.maxUnused, "--max-unused") / 100 } : {}),
          ...(flags.grace !== undefined ? { graceMs: parseGrace(flags.grace) } : {}),
        });
        const { plan } = result;
        ctx.emit(
          {
            executed: result.executed,
            keep: plan.keep, forget: plan.forget,
            packs: { total: plan.stats.packsTotal, delete: plan.deletePacks.length, repack: plan.repackPacks.length, orphans: plan.orphanPacks.length, young: plan.youngPacks },
            bytes: { total: plan.stats.bytesTotal, freed: plan.stats.bytesFreed, repacked: plan.stats.bytesRepacked },
            packsWritten: result.packsWritten, durationMs: result.durationMs,
          },
          () => [
            ...plan.keep.map((d) => `keep    ${d.id}  ${d.reasons.join(", ")}`),
            ...plan.forget.map((d) => `forget  ${d.id}  ${d.reasons.join(", ")}`),
            `packs: ${plan.stats.packsTotal} in storage; ${plan.deletePacks.length} unused, ${plan.repackPacks.length} to repack, ${plan.orphanPacks.length} orphaned, ${plan.youngPacks} younger than the grace period left alone`,
            `${result.executed ? "freed" : "would free"} about ${formatBytes(plan.stats.bytesFreed)} of ${formatBytes(plan.stats.bytesTotal)}${plan.stats.bytesRepacked ? ` (repacking ${formatBytes(plan.stats.bytesRepacked)})` : ""}`,
            result.executed ? `prune done in ${formatDuration(result.durationMs)}` : "dry run: nothing changed",
          ],
        );
      });
    });
}
