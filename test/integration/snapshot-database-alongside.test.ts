/**
 * A database found by a directory walk is stored while the walk goes on
 * (ops/snapshot/source.ts): handed over as soon as its copy is ready, its
 * listing entry still after the walk's, restored intact; and a failure while
 * it is being stored fails the snapshot cleanly (nothing committed, no copy
 * left, the next snapshot fine).
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StoreError } from "../../src/core/errors.js";
import { listSnapshotFiles } from "../../src/ops/ls.js";
import { restore } from "../../src/ops/restore/restore.js";
import { snapshot } from "../../src/ops/snapshot/snapshot.js";
import { FileStorer } from "../../src/ops/snapshot/store-file.js";
import { verify } from "../../src/ops/verify/verify.js";
import { Repository } from "../../src/repo/repository.js";
import { FaultyStore } from "../../src/store/faulty.js";
import { LocalStore } from "../../src/store/local.js";
import { expectSameTree, tempDir, writeWalDatabase } from "../helpers/fixtures.js";

const password = { kind: "password", password: "pw" } as const;
const TREE_FILES = 4000;
const ROWS = 3000;

let dir: { path: string; cleanup: () => Promise<void> };
let src: string;

/** src/a.sqlite (WAL, ROWS rows of 1 KiB; first in walk order) and src/tree/ (TREE_FILES small files, one of 3 MiB). */
beforeEach(async () => {
  dir = await tempDir();
  src = join(dir.path, "src");
  await mkdir(join(src, "tree"), { recursive: true });
  writeWalDatabase(join(src, "a.sqlite"), ROWS, 1024);
  for (let i = 0; i < TREE_FILES; i++) await writeFile(join(src, "tree", `f${String(i).padStart(5, "0")}.txt`), `file ${i}\n`);
  await writeFile(join(src, "tree", "big.bin"), Buffer.alloc(3 * 1024 * 1024, 5));
});
afterEach(() => dir.cleanup());

// A temp folder of this file's own: other test files create and remove work folders in the shared one.
const systemTmp = process.env.TMPDIR;
beforeEach(async () => {
  process.env.TMPDIR = join(dir.path, "tmp");
  await mkdir(process.env.TMPDIR);
});
afterEach(() => {
  if (systemTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = systemTmp;
});

/** Work folders of snapshots in the system temp folder, which is this test's own (TMPDIR below). */
async function snapshotTemps(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => n.startsWith("restorable-snap-"));
}

describe("a database found by the walk", () => {
  it("is stored while the walk goes on, listed after it, and restored intact", async () => {
    const repo = await Repository.init(new LocalStore(join(dir.path, "repo")), password, { scryptN: 1024 });
    // The order in which files start being stored: the database's copy (in the work folder) is handed to
    // its own FileStorer when it is ready, and the walk goes on meanwhile. (When it finishes is not
    // ordered: the walk does not wait for it, and may well end first.)
    const started: string[] = [];
    const originalStore = FileStorer.prototype.store;
    const store = vi.spyOn(FileStorer.prototype, "store").mockImplementation(function (this: FileStorer, path, opts) {
      started.push(path.includes("restorable-snap-") ? "a.sqlite" : relative(src, path));
      return originalStore.call(this, path, opts);
    });
    const { manifest } = await snapshot(repo, {
      sources: [{ kind: "directory", name: "src", path: src }],
      onProgress: (p) => {
        if (p.path === "tree/f00000.txt") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500); // the copy finishes meanwhile
      },
    }).finally(() => store.mockRestore());
    // It was handed over mid-walk, not left for after the walk.
    expect(started.indexOf("a.sqlite")).toBeGreaterThan(0);
    expect(started.indexOf("a.sqlite")).toBeLessThan(started.indexOf(`tree/f${String(TREE_FILES - 1).padStart(5, "0")}.txt`));
    expect(manifest.stats.files).toBe(TREE_FILES + 2);
    expect(manifest.sources[0]!.databases.map((d) => d.path)).toEqual(["a.sqlite"]);
    // The listing still has the database after every other entry.
    const listed = await listSnapshotFiles(repo, manifest);
    expect(listed.at(-1)?.path).toBe("src/a.sqlite");
    expect(listed.length).toBe(TREE_FILES + 4); // files, the root and tree/

    const target = join(dir.path, "out");
    expect((await restore(repo, manifest, { target, verify: true })).verified).toBe(true);
    await expectSameTree(src, join(target, "src"), (p) => p.startsWith("a.sqlite"));
    const copy = new Database(join(target, "src", "a.sqlite"), { readonly: true });
    expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(copy.prepare("SELECT count(*) FROM t").pluck().get()).toBe(ROWS);
    copy.close();
  });

  it("fails the snapshot cleanly when a pack upload fails while it is stored: nothing committed, no copy left", async () => {
    const faulty = new FaultyStore(new LocalStore(join(dir.path, "repo")));
    const repo = await Repository.init(faulty, password, { scryptN: 1024, packTarget: 1024 * 1024 });
    // The third pack fails: packs close at 1 MiB and the database brings 3 MB of random rows, so it is
    // being stored alongside the walk then.
    let packs = 0;
    faulty.onOperation = (op) => {
      if (op.name === "put" && op.key.startsWith("data/") && ++packs === 3) throw new StoreError("injected: pack upload refused", { key: op.key });
    };
    const sources = [{ kind: "directory", name: "src", path: src }] as const;
    await expect(snapshot(repo, { sources })).rejects.toThrow("injected: pack upload refused");
    expect(packs).toBeGreaterThanOrEqual(3);
    expect(await repo.listSnapshotIds()).toEqual([]);
    expect(await snapshotTemps()).toEqual([]);

    faulty.onOperation = undefined;
    const { manifest, checked } = await snapshot(repo, { sources });
    expect(checked).toBe(true);
    expect(await repo.listSnapshotIds()).toEqual([manifest.id]);
    const report = await verify(repo, [manifest], { readData: true });
    expect(report.ok).toBe(true);
  });
});
