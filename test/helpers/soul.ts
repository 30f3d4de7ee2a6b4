/**
 * Soul (https://github.com/thevahidal/soul, the npm package `soul-cli`), a
 * SQLite REST server no one here wrote, installed from the npm registry
 * into test/fixtures/app-soul (package.json + package-lock.json committed;
 * node_modules installed by scripts/test, or here when missing).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The fixture folder and Soul's entry point inside it. */
export const SOUL_DIR = resolve(import.meta.dirname, "../fixtures/app-soul");
export const SOUL_SERVER = join(SOUL_DIR, "node_modules/soul-cli/src/server.js");

/**
 * Installs the fixture with `npm ci` when node_modules is missing (idempotent: does nothing when present).
 * Native addons are built against this Node's headers (npm_config_nodedir). Throws with npm's output on failure.
 */
export function ensureSoulInstalled(): void {
  if (existsSync(SOUL_SERVER) && existsSync(join(SOUL_DIR, "node_modules/bcrypt/lib/binding"))) return;
  const nodeDir = resolve(dirname(process.execPath), "..");
  try {
    execFileSync("npm", ["ci", "--prefix", SOUL_DIR, "--no-audit", "--no-fund"], {
      stdio: "pipe", timeout: 300_000,
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`, npm_config_nodedir: nodeDir },
    });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(`installing the Soul fixture (npm ci --prefix ${SOUL_DIR}) failed; it needs the npm registry and a C++ toolchain for bcrypt:\n${e.message}\n${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`, { cause: err });
  }
  if (!existsSync(SOUL_SERVER)) throw new Error(`npm ci ran but ${SOUL_SERVER} is missing`);
}
