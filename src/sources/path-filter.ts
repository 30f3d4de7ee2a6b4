/**
 * Include/exclude glob filter for directory sources, built on picomatch
 * (https://github.com/micromatch/picomatch). Patterns are matched against the
 * POSIX path relative to the source root ("a/b/c.txt", no leading "/"), with
 * `dot: true` so `**` also matches dot-files.
 */

import picomatch from "picomatch";

/** Decisions the directory walker asks for. Paths are relative to the root. */
export interface PathFilter {
  /** True when an exclude pattern matches `rel`: the entry is dropped and a directory is not descended into. */
  excluded(rel: string): boolean;
  /** True when there are no include patterns or one matches `rel` (a matching directory brings its whole subtree). */
  included(rel: string): boolean;
  /** True when include patterns are set. */
  readonly hasInclude: boolean;
  /** False only when no file under directory `rel` can match an include pattern (so the walker may skip it). */
  mayContainIncluded(rel: string): boolean;
}

/**
 * Build a filter from include and exclude globs (picomatch syntax).
 * An empty or missing include list means "everything".
 */
export function makePathFilter(include: readonly string[] = [], exclude: readonly string[] = []): PathFilter {
  const opts = { dot: true };
  const inc = include.length > 0 ? picomatch([...include], opts) : undefined;
  const exc = exclude.length > 0 ? picomatch([...exclude], opts) : undefined;
  // Static prefix of each include pattern ("src" for "src/**/*.ts", "" for "**/*.log").
  const bases = include.map((p) => picomatch.scan(p).base.replace(/\/+$/, ""));
  return {
    hasInclude: inc !== undefined,
    excluded: (rel) => exc !== undefined && exc(rel),
    included: (rel) => inc === undefined || inc(rel),
    mayContainIncluded: (rel) =>
      inc === undefined || bases.some((b) => b === "" || b === rel || b.startsWith(rel + "/") || rel.startsWith(b + "/")),
  };
}
