import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Absolute path of the repository root. */
export const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/**
 * Compile some `src/` modules (and what they import) with tsc into a scratch
 * build under the git-ignored `tmp/` of the repository, laid out like
 * `build/` (so `better-sqlite3` and `"type": "module"` resolve the same way).
 * The folder is world-readable, so a child process under another uid can
 * load it. Call `cleanup()` when done.
 *
 * @param entries paths relative to the repository root, e.g. "src/sources/directory.ts"
 */
export async function compileSources(entries: readonly string[]): Promise<{ dir: string; cleanup: () => void }> {
  mkdirSync(join(repoRoot, "tmp"), { recursive: true });
  const dir = mkdtempSync(join(repoRoot, "tmp", "build-"));
  chmodSync(dir, 0o755);
  const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
  await run(
    process.execPath,
    [
      tsc,
      ...["--outDir", dir, "--rootDir", join(repoRoot, "src"), "--module", "NodeNext", "--moduleResolution", "NodeNext"],
      ...["--target", "ES2024", "--types", "node", "--strict", "--skipLibCheck", "--ignoreConfig"],
      ...entries.map((e) => join(repoRoot, e)),
    ],
    { cwd: repoRoot },
  );
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
