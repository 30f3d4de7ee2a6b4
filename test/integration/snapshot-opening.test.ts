/**
 * A snapshot can start before its repository is open (the CLI derives the key
 * meanwhile): the first source's walk, and the copy of a database it finds,
 * start at once (ops/snapshot/head-start.ts). What acts on the user's side
 * waits for the repository: when it fails to open, no hook has run and no
 * work folder is left.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WrongKeyError } from "../../src/core/errors.js";
import { snapshot } from "../../src/ops/snapshot/snapshot.js";
import { verify } from "../../src/ops/verify/verify.js";
import { Repository } from "../../src/repo/repository.js";
import { LocalStore } from "../../src/store/local.js";
import { tempDir, writeWalDatabase } from "../helpers/fixtures.js";

const password = { kind: "password", password: "pw" } as const;

let dir: { path: string; cleanup: () => Promise<void> };
let src: string;
const systemTmp = process.env.TMPDIR;

beforeEach(async () => {
  dir = await tempDir();
  src = join(dir.path, "src");
  await mkdir(join(src, "files"), { recursive: true });
  writeWalDatabase(join(src, "app.sqlite"), 2000, 512);
  for (let i = 0; i < 50; i++) await writeFile(join(src, "files", `f${i}`), `file ${i}\n`);
  // A temp folder of this file's own: work folders are looked at below.
  process.env.TMPDIR = join(dir.path, "tmp");
  await mkdir(process.env.TMPDIR);
});
afterEach(async () => {
  if (systemTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = systemTmp;
  await dir.cleanup();
});

/** True once a snapshot work folder holds a database copy. */
async function copyStarted(): Promise<boolean> {
  for (const w of (await readdir(tmpdir())).filter((n) => n.startsWith("restorable-snap-"))) {
    if ((await readdir(join(tmpdir(), w))).some((n) => n.startsWith("sqlite-"))) return true;
  }
  return false;
}

describe("a snapshot given a repository still opening", () => {
  it("walks its first source and copies the database meanwhile, then commits a snapshot that verifies", async () => {
    const store = new LocalStore(join(dir.path, "repo"));
    await Repository.init(store, password, { scryptN: 1024 });
    let copiedBeforeOpen = false;
    const opening = (async () => {
      // Opens once the database copy is under way, or after 10 s (then the test fails below).
      for (const deadline = Date.now() + 10_000; Date.now() < deadline && !copiedBeforeOpen; ) {
        copiedBeforeOpen = await copyStarted();
        await new Promise((r) => setTimeout(r, 5));
      }
      return Repository.open(store, password);
    })();
    const { manifest, checked } = await snapshot(opening, { sources: [{ kind: "directory", name: "src", path: src }] });
    expect(copiedBeforeOpen).toBe(true);
    expect(checked).toBe(true);
    expect(manifest.stats.files).toBe(51);
    expect(manifest.sources[0]!.databases.map((d) => d.path)).toEqual(["app.sqlite"]);
    expect(manifest.sources[0]!.startedAt).toBeLessThanOrEqual(manifest.sources[0]!.databases[0]!.capturedAt);
    const report = await verify(await Repository.open(store, password), [manifest], { readData: true });
    expect(report.ok).toBe(true);
    expect(await readdir(tmpdir())).toEqual([]);
  });

  it("runs no hook and leaves no work folder when the repository does not open", async () => {
    const pre = join(dir.path, "pre-ran");
    const post = join(dir.path, "post-ran");
    const wrong = () => Promise.reject(new WrongKeyError("no key slot opens with the password given (1 slot(s) tried)"));
    // With a pre hook, the repository is awaited before it runs.
    await expect(snapshot(wrong(), { sources: [{ kind: "directory", name: "src", path: src }], hooks: { pre: `touch ${pre}`, post: `touch ${post}` } })).rejects.toBeInstanceOf(WrongKeyError);
    // Without one, the walk had started: it is stopped, its copy removed, and post does not run either.
    await expect(snapshot(wrong(), { sources: [{ kind: "directory", name: "src", path: src }], hooks: { post: `touch ${post}` } })).rejects.toBeInstanceOf(WrongKeyError);
    expect(existsSync(pre)).toBe(false);
    expect(existsSync(post)).toBe(false);
    expect(await readdir(tmpdir())).toEqual([]);
  });
});
