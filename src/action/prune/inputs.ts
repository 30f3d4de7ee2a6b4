/**
 * Inputs of the prune action (actions/prune/action.yml) as one readonly
 * object. The retention policy comes from the `keep-*` inputs when any is
 * given (the same rules as `restorable prune --keep-*`, docs/retention.md),
 * else from `retention:` in restorable.yml, else there is none and prune
 * only removes data no snapshot uses.
 */
import type { LoadedConfig } from "../../config/load.js";
import { ConfigError } from "../../core/errors.js";
import { COUNT_KEYS, WITHIN_KEYS, parsePolicy, type RetentionPolicy } from "../../core/retention.js";
import type { PruneRunOptions } from "../../ops/prune/prune.js";
import { readCommonInputs, type CommonInputs } from "../common.js";
import type { InputReader } from "../inputs.js";

export interface PruneInputs {
  readonly common: CommonInputs;
  /** The policy from the keep-* inputs, undefined when none was given. */
  readonly policy?: RetentionPolicy;
  /** `dry-run`: plan only. */
  readonly dryRun: boolean;
  /** `allow-empty`: accept a policy that keeps nothing (protected snapshots still stay). */
  readonly allowEmpty: boolean;
  /** `max-unused`: repack packs with more unused data than this share (0-1). */
  readonly maxUnused?: number;
  /** `grace`, ms: leave packs younger than this alone. */
  readonly graceMs?: number;
}

/** The keep-* inputs as a policy object, or undefined when none is set. @throws ConfigError naming the input. */
function policyFromInputs(r: InputReader): RetentionPolicy | undefined {
  const raw: Record<string, unknown> = {};
  for (const key of COUNT_KEYS) {
    const v = r.optional(key);
    if (v !== undefined) raw[key] = /^\d+$/.test(v) ? Number(v) : v;
  }
  for (const key of WITHIN_KEYS) {
    const v = r.optional(key);
    if (v !== undefined) raw[key] = v;
  }
  const tags = r.list("keep-tag");
  if (tags.length) raw["keep-tag"] = tags;
  if (Object.keys(raw).length === 0) return undefined;
  const groupBy = r.choice("group-by", ["sources", "tags", "none"]);
  if (groupBy !== undefined) raw["group-by"] = groupBy;
  const zone = r.optional("time-zone");
  if (zone !== undefined) raw["time-zone"] = zone;
  try {
    return parsePolicy(raw, "");
  } catch (err) {
    // parsePolicy names the key ("keep-daily: expected a non-negative integer, got ..."): it is the input's name too.
    if (err instanceof ConfigError) throw new ConfigError(`input "${String(err.details.field ?? "")}": ${err.message.replace(/^[^:]*: /, "")}`, { ...err.details, input: err.details.field });
    throw err;
  }
}

/** @throws ConfigError naming the input. */
export function readPruneInputs(r: InputReader, cwd: string): PruneInputs {
  const policy = policyFromInputs(r);
  const maxUnused = r.percent("max-unused");
  const grace = r.duration("grace");
  return {
    common: readCommonInputs(r, cwd),
    ...(policy ? { policy } : {}),
    dryRun: r.boolean("dry-run", false),
    allowEmpty: r.boolean("allow-empty", false),
    ...(maxUnused !== undefined ? { maxUnused: maxUnused / 100 } : {}),
    ...(grace !== undefined ? { graceMs: grace } : {}),
  };
}

/** The options of `prune()`: the inputs' policy, else the file's `retention:`. */
export function pruneOptions(inputs: PruneInputs, loaded: LoadedConfig | undefined): PruneRunOptions {
  const policy = inputs.policy ?? loaded?.config.retention;
  return {
    ...(policy ? { policy } : {}),
    dryRun: inputs.dryRun,
    allowEmpty: inputs.allowEmpty,
    ...(inputs.maxUnused !== undefined ? { maxUnused: inputs.maxUnused } : {}),
    ...(inputs.graceMs !== undefined ? { graceMs: inputs.graceMs } : {}),
  };
}
