/**
 * Turn a Node.js file-system error into a SourceError that names the file.
 */

import { SourceError } from "../core/errors.js";

/** The `code` of a Node.js system error (ENOENT, EACCES...), or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/**
 * A SourceError "<action> <path>: <reason> (<errno>)", e.g.
 * "cannot read /data/x: permission denied (EACCES)"; `details` holds
 * `path` and `errno`, `cause` the original error.
 */
export function fsSourceError(action: string, path: string, err: unknown): SourceError {
  const code = errnoCode(err);
  const reason =
    code === "ENOENT"
      ? "no such file or directory"
      : code === "EACCES" || code === "EPERM"
        ? "permission denied"
        : err instanceof Error
          ? err.message
          : String(err);
  return new SourceError(`${action} ${path}: ${reason}${code ? ` (${code})` : ""}`, { path, errno: code }, { cause: err });
}
