/**
 * dist/ is committed (GitHub runs actions from the repository as is), so it
 * must be exactly what `npm run bundle` makes from the current sources: the
 * bundles are rebuilt into a temporary folder and compared file by file.
 */
import { execFile } from "node:child_process";
import { readFile, readdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const ACTIONS = ["snapshot", "verify", "restore-drill", "prune", "clone-cluster"];
let out: string | undefined;

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name).slice(dir.length + 1)).sort();
}

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

describe("dist/", () => {
  it("matches a fresh `npm run bundle` byte for byte (run it and commit dist/ when this fails)", async () => {
    out = await mkdtemp(join(tmpdir(), "restorable-dist-"));
    await promisify(execFile)(process.execPath, [join(ROOT, "scripts", "bundle.mjs"), "--out", out], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    for (const name of ACTIONS) {
      const fresh = await files(join(out, name));
      const committed = await files(join(ROOT, "dist", name)).catch(() => [] as string[]);
      expect(committed, `dist/${name}: file list`).toEqual(fresh);
      expect(fresh).toEqual(expect.arrayContaining(["index.js", "package.json", "frame-worker.js", "sqlite-worker.js", "prebuilds/linux-x64.node"]));
      for (const f of fresh) {
        const [a, b] = await Promise.all([readFile(join(out, name, f)), readFile(join(ROOT, "dist", name, f))]);
        expect(a.equals(b), `dist/${name}/${f} is stale: run npm run bundle`).toBe(true);
      }
    }
  }, 900_000);
});
