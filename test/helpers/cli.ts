/**
 * Running the built CLI from tests: `ensureBuilt()` compiles src/ into build/
 * when build/ is missing or older than a source file (npm test builds first,
 * so this only matters when a single test file is run by hand).
 */
import { execFile, execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(ROOT, "bin", "restorable.js");

function newest(dir: string): number {
  let t = 0;
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    t = Math.max(t, d.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

let built: Promise<void> | undefined;

/** Builds once per test process when needed. */
export function ensureBuilt(): Promise<void> {
  built ??= (async () => {
    let stale = true;
    try {
      stale = newest(join(ROOT, "src")) > newest(join(ROOT, "build"));
    } catch {
      stale = true;
    }
    if (stale) execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
  })();
  return built;
}

/** Result of one CLI run. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `restorable ARGS` with `env` (merged over a minimal environment) and returns exit code and output. */
export function runCli(args: readonly string[], env: Record<string, string | undefined> = {}, cwd = ROOT): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

