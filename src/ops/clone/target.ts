/**
 * Where a clone goes, and the isolation rules it must obey: a clone is a
 * restore into a NEW place that outlives the job, and it must never be able
 * to write into the source repository. So the target must not overlap the
 * repository (a folder inside or around it, an S3 prefix inside or around
 * its prefix), a folder target must be missing or empty, and an S3 target
 * prefix must hold no object.
 *
 * Target kinds: `path` (a folder, e.g. on a self-hosted runner) and `s3`
 * (plain files under a prefix that any S3 tool can fetch). `postgres`
 * (point-in-time clones of a cluster) and `kubernetes` are reserved for a
 * later version and refused with a clear message.
 */
import { resolve } from "node:path";
import { ConfigError } from "../../core/errors.js";
import { isWithin } from "../../core/safe-path.js";
import { parseS3Location } from "../../store/open.js";

/** Kinds a clone target may have; only the first two are implemented. */
export const TARGET_KINDS = ["path", "s3", "postgres", "kubernetes"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** A resolved clone target. */
export type CloneTarget =
  | { readonly kind: "path"; readonly dir: string }
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string; readonly location: string };

/** The kind a target location implies: `s3://...` is `s3`, anything else `path`. */
export function impliedKind(target: string): "path" | "s3" {
  return target.trim().startsWith("s3://") ? "s3" : "path";
}

/**
 * Resolves `target` of `kind` (default: implied by the location).
 * @param field the name to use in messages (an action input, a flag).
 * @throws ConfigError for an unsupported kind (postgres, kubernetes: "not supported yet"), a kind that contradicts
 *   the location, or a malformed s3:// location.
 */
export function resolveTarget(target: string, kind: TargetKind | undefined, cwd: string, field = "target"): CloneTarget {
  const k = kind ?? impliedKind(target);
  if (k === "postgres" || k === "kubernetes") {
    throw new ConfigError(
      `${field}-kind: ${k} clones are not supported yet (planned: PostgreSQL point-in-time clones and Kubernetes targets); use path (a folder) or s3 (plain files under an S3 prefix)`,
      { field: `${field}-kind`, kind: k },
    );
  }
  if (k !== impliedKind(target)) {
    throw new ConfigError(`${field}: "${target}" is not a ${k} target (${k === "s3" ? "expected s3://bucket/prefix" : "expected a folder path"})`, { field });
  }
  if (k === "s3") {
    const { bucket, prefix } = parseS3Location(target.trim());
    if (prefix === "") throw new ConfigError(`${field}: give a prefix for the clone (s3://${bucket}/some/prefix), not a whole bucket`, { field });
    return { kind: "s3", bucket, prefix, location: `s3://${bucket}/${prefix}` };
  }
  return { kind: "path", dir: resolve(cwd, target) };
}

/**
 * @throws ConfigError when `target` overlaps the repository at `repository` (a folder, or s3://bucket/prefix):
 *   the clone would sit inside the backups or contain them.
 */
export function assertIsolated(target: CloneTarget, repository: string, cwd: string, field = "target"): void {
  const repo = repository.trim();
  if (target.kind === "path") {
    if (repo.startsWith("s3://")) return;
    const dir = resolve(cwd, repo.replace(/^file:\/\//, ""));
    if (isWithin(dir, target.dir) || isWithin(target.dir, dir)) {
      throw new ConfigError(`${field}: ${target.dir} overlaps the repository ${dir}; a clone must live outside the source repository`, { field });
    }
    return;
  }
  if (!repo.startsWith("s3://")) return;
  const r = parseS3Location(repo);
  if (r.bucket !== target.bucket) return;
  const a = `${r.prefix}/`;
  const b = `${target.prefix}/`;
  if (r.prefix === "" || a.startsWith(b) || b.startsWith(a)) {
    throw new ConfigError(`${field}: ${target.location} overlaps the repository s3://${r.bucket}${r.prefix ? `/${r.prefix}` : ""}; export the clone under another prefix`, { field });
  }
}
