/**
 * Running the built CLI from tests: `ensureBuilt()` compiles src/ into build/
 * when build/ is missing or older than a source file (npm test builds first,
 * so this only matters when a single test file is run by hand).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(ROOT, "bin", "restorable.js");

/** Newest mtime (ms) of any file below `dir`. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const d of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (d.isFile()) newest = Math.max(newest, statSync(join(d.parentPath, d.name)).mtimeMs);
  }
  return newest;
}

/** Builds build/ with tsc unless it is newer than every file in src/. @throws with tsc's output when the build fails. */
export function ensureBuilt(): void {
  const main = join(ROOT, "build", "cli", "main.js");
  if (existsSync(main) && newestMtime(join(ROOT, "build")) >= newestMtime(join(ROOT, "src"))) return;
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "pipe" });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the CLI (tsc -p tsconfig.build.json) failed:\n${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`, { cause: err });
  }
  if (!existsSync(main)) throw new Error(`tsc ran but ${main} is missing`);
}
