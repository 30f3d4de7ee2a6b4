/**
 * Inputs of the clone-cluster action (actions/clone-cluster/action.yml) as
 * one readonly object. The snapshot is `snapshot` (a selector) or the one
 * taken at or before `target-time`; the target is a folder or an S3 prefix
 * (`target-kind`, implied by `target`; `postgres` and `kubernetes` are
 * accepted names that are refused as not supported yet).
 */
import { ConfigError } from "../../core/errors.js";
import { resolveTarget, TARGET_KINDS, type CloneTarget } from "../../ops/clone/target.js";
import { readCommonInputs, type CommonInputs } from "../common.js";
import type { InputReader } from "../inputs.js";

export interface CloneInputs {
  readonly common: CommonInputs;
  /** The selector: `snapshot`, or `latest-before:<target-time>`, or `latest`. */
  readonly selector: string;
  /** `target-time`, ms. */
  readonly targetTimeMs?: number;
  readonly target: CloneTarget;
  /** `target-s3-endpoint`, else `s3-endpoint`, else RESTORABLE_S3_ENDPOINT. */
  readonly targetEndpoint?: string;
  /** `checks`: run drill.checks on the clone (default: when restorable.yml has them). */
  readonly checks?: boolean;
  readonly dryRun: boolean;
  readonly include: readonly string[];
  readonly tags: readonly string[];
}

/** @throws ConfigError naming the input (both snapshot and target-time, a missing target, an unsupported target-kind...). */
export function readCloneInputs(r: InputReader, cwd: string, env: Readonly<Record<string, string | undefined>>): CloneInputs {
  const common = readCommonInputs(r, cwd);
  const snapshot = r.optional("snapshot");
  const time = r.time("target-time");
  if (snapshot !== undefined && time !== undefined) {
    throw new ConfigError('inputs "snapshot" and "target-time" were both given: give one (target-time picks the snapshot taken at or before it)', { field: "target-time", input: "target-time" });
  }
  const kind = r.choice("target-kind", TARGET_KINDS);
  const targetText = r.required("target", "a new folder (on a self-hosted runner) or s3://bucket/prefix for a plain-file export");
  let target: CloneTarget;
  try {
    target = resolveTarget(targetText, kind, common.workingDirectory);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`input "${String(err.details.field)}": ${err.message.replace(/^[^:]*: /, "")}`, { ...err.details, input: err.details.field });
    throw err;
  }
  const endpoint = r.optional("target-s3-endpoint") ?? common.s3Endpoint ?? (env.RESTORABLE_S3_ENDPOINT || undefined);
  const checksText = r.optional("checks");
  return {
    common,
    selector: snapshot ?? (time ? `latest-before:${time.toISOString()}` : "latest"),
    ...(time ? { targetTimeMs: time.getTime() } : {}),
    target,
    ...(endpoint ? { targetEndpoint: endpoint } : {}),
    ...(checksText !== undefined ? { checks: r.boolean("checks", true) } : {}),
    dryRun: r.boolean("dry-run", false),
    include: r.list("include"),
    tags: r.list("tags"),
  };
}
