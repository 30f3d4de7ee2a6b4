/**
 * Semantic checks on a temporary restore: every SQLite database the snapshot
 * captured passes `integrity_check`, every git directory passes `git fsck`,
 * and every file matching the configured JSON globs parses.
 */
import { readFile, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import picomatch from "picomatch";
import type { SnapshotManifest } from "../../core/manifest.js";
import { findGitDirs, gitFsck } from "../../checks/git-fsck.js";
import { sqliteIntegrity } from "../../checks/sqlite-integrity.js";

export interface SemanticResult {
  readonly check: "sqlite-integrity" | "git-fsck" | "json-parse";
  /** `SOURCE/path` of what was checked. */
  readonly path: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Runs the checks on `root`, where `manifest` was restored (one folder per source). */
export async function semanticChecks(root: string, manifest: SnapshotManifest, jsonGlobs: readonly string[]): Promise<SemanticResult[]> {
  const results: SemanticResult[] = [];
  for (const src of manifest.sources) {
    for (const db of src.databases) {
      const path = `${src.name}/${db.path}`;
      results.push({ check: "sqlite-integrity", path, ...sqliteIntegrity(join(root, path)) });
    }
    for (const gitDir of await findGitDirs(join(root, src.name))) {
      results.push({ check: "git-fsck", path: relative(root, gitDir), ...(await gitFsck(gitDir)) });
    }
  }
  if (jsonGlobs.length) {
    const isJson = picomatch([...jsonGlobs], { dot: true });
    for (const rel of (await readdir(root, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => relative(root, join(d.parentPath, d.name)))) {
      if (!isJson(rel)) continue;
      try {
        JSON.parse(await readFile(join(root, rel), "utf8"));
        results.push({ check: "json-parse", path: rel, ok: true, detail: "ok" });
      } catch (err) {
        results.push({ check: "json-parse", path: rel, ok: false, detail: (err as Error).message });
      }
    }
  }
  return results;
}
