/**
 * Path rules for what a repository may ask restore to create. A listing comes
 * from storage, and storage may be hostile: every path is checked before any
 * byte is written (docs/format.md, "Restore safety").
 */
import { UnsafePathError } from "./errors.js";

/**
 * Accepts a POSIX relative path made of non-empty segments other than `.` and
 * `..`, without backslashes or NUL bytes; "" (the source root) is allowed.
 * @throws UnsafePathError naming the path and the rule it breaks.
 */
export function assertSafeRelativePath(path: string, what = "path"): void {
  const fail = (why: string): never => {
    throw new UnsafePathError(`refusing unsafe ${what} ${JSON.stringify(path)}: ${why}`, { path });
  };
  if (path === "") return;
  if (path.includes("\0")) fail("contains a NUL byte");
  if (path.includes("\\")) fail("contains a backslash");
  if (path.startsWith("/")) fail("is absolute");
  for (const seg of path.split("/")) {
    if (seg === "") fail("has an empty segment");
    if (seg === "." || seg === "..") fail(`has a "${seg}" segment`);
  }
}

/** A source name becomes one folder under the restore target: one safe segment. */
export function assertSafeName(name: string): void {
  assertSafeRelativePath(name, "source name");
  if (name === "" || name.includes("/")) throw new UnsafePathError(`refusing unsafe source name ${JSON.stringify(name)}: must be one path segment`, { path: name });
}

/** True when `child` equals `parent` or lies below it (both absolute, normalized). */
export function isWithin(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent.endsWith("/") ? parent : parent + "/");
}
