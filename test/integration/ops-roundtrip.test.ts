/**
 * The repository core end to end on a real local folder: snapshot a live-ish
 * application tree, restore it bit for bit, deduplicate the next snapshot,
 * verify every byte, and catch damage.
 */
import { execFileSync } from "node:child_process";
import { appendFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, IntegrityError, WrongKeyError } from "../../src/core/errors.js";
import { Repository } from "../../src/repo/repository.js";
import { snapshot } from "../../src/ops/snapshot/snapshot.js";
import { restore } from "../../src/ops/restore/restore.js";
import { verify } from "../../src/ops/verify/verify.js";
import { repairIndex } from "../../src/ops/repair/repair-index.js";
import { LocalStore } from "../../src/store/local.js";
import { S3Store } from "../../src/store/s3.js";
import type { ObjectStore } from "../../src/store/types.js";
import { expectSameTree, makeAppTree, tempDir } from "../helpers/fixtures.js";
import { startMinio, type MinioServer } from "../helpers/minio.js";

const password = { kind: "password", password: "correct horse" } as const;

let minio: MinioServer | undefined;
afterAll(async () => minio?.stop());

/** Each backend the repository runs on: a local folder, and S3 on a real MinIO. */
const backends: [string, (dir: string) => Promise<ObjectStore>][] = [
  ["a local folder", async (dir) => new LocalStore(join(dir, "repo"))],
  ["S3 (MinIO)", async () => {
    minio ??= await startMinio();
    return new S3Store({ bucket: minio.bucket, prefix: "roundtrip", endpoint: minio.endpoint, region: minio.region, forcePathStyle: true, credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey } });
  }],
];

describe.each(backends)("snapshot, restore, verify on %s", (_name, makeStore) => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let src: string;
  let repo: Repository;
  let store: ObjectStore;

  beforeAll(async () => {
    dir = await tempDir();
    src = join(dir.path, "app");
    await makeAppTree(src);
    store = await makeStore(dir.path);
    repo = await Repository.init(store, password, { scryptN: 1024 });
  });
  afterAll(() => dir.cleanup());

  it("restores a snapshot bit for bit, with modes, symlinks and mtimes", async () => {
    const { manifest, checked } = await snapshot(repo, { sources: [{ kind: "directory", name: "app", path: src }] });
    expect(checked).toBe(true);
    expect(manifest.sources[0]!.databases.map((d) => d.path)).toEqual(["app.sqlite"]);
    expect(manifest.stats.files).toBeGreaterThan(5);
    const target = join(dir.path, "restore1");
    const result = await restore(repo, manifest, { target, verify: true });
    expect(result.verified).toBe(true);
    await expectSameTree(src, join(target, "app"), (p) => p.startsWith("app.sqlite"));
    const db = new Database(join(target, "app", "app.sqlite"), { readonly: true });
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(db.prepare("SELECT count(*) FROM account").pluck().get()).toBe(5000);
    db.close();
    expect((await readdir(join(target, "app"))).filter((n) => /-(wal|shm|journal)$/.test(n))).toEqual([]);
    execFileSync("git", ["--git-dir", join(target, "app/repos/alice.git"), "fsck", "--full"], { env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null" } });
  });

  it("reads only changed files and stores only new chunks the second time", async () => {
    await appendFile(join(src, "blobs/nested/notes.txt"), "one more line\n");
    const { manifest } = await snapshot(repo, { sources: [{ kind: "directory", name: "app", path: src }] });
    expect(manifest.parent).toBeDefined();
    // random.bin (3 MiB) was not read again; the database always is.
    expect(manifest.stats.bytesRead).toBeLessThan(manifest.stats.bytes - 3 * 1024 * 1024 + 1);
    expect(manifest.stats.bytesAdded).toBeLessThan(200 * 1024);
  });

  it("verifies every byte and records annotations", async () => {
    const manifests = await repo.listSnapshots();
    const report = await verify(repo, manifests, { readData: true, semantic: true, jsonFiles: ["**/*.json"] });
    expect(report.snapshots.map((s) => s.problems)).toEqual([[], []]);
    expect(report.ok).toBe(true);
    expect(report.packsRead).toBeGreaterThan(0);
    const checks = report.snapshots[0]!.semantic.map((s) => `${s.check}:${s.path}:${s.ok}`);
    expect(checks).toEqual(expect.arrayContaining(["sqlite-integrity:app/app.sqlite:true", "git-fsck:app/repos/alice.git:true", "json-parse:app/config.json:true"]));
  });

  it("refuses the wrong password and a second init", async () => {
    await expect(Repository.open(store, { kind: "password", password: "nope" })).rejects.toBeInstanceOf(WrongKeyError);
    await expect(Repository.init(store, password, { scryptN: 1024 })).rejects.toBeInstanceOf(ConfigError);
  });

  it("rebuilds a lost index from the pack headers", async () => {
    for (const name of await repo.listIndexFiles()) await store.delete(`index/${name}`);
    const broken = await verify(repo, await repo.listSnapshots(), { annotate: false });
    expect(broken.ok).toBe(false);
    const result = await repairIndex(repo);
    expect(result.damagedPacks).toEqual([]);
    expect(result.chunks).toBeGreaterThan(0);
    const fixed = await verify(repo, await repo.listSnapshots(), { readData: true, annotate: false });
    expect(fixed.ok).toBe(true);
  });

  it("names the snapshot and file of a flipped byte, and restore of that file fails loudly", async () => {
    const manifest = (await repo.listSnapshots())[0]!;
    // The biggest pack holds random.bin: flip one byte in the middle (random.bin is 3 MiB of its ~3.3).
    const packs = (await store.list("data/")).sort((a, b) => b.size - a.size);
    const victim = packs[0]!.key;
    const bytes = new Uint8Array(await store.get(victim));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    await store.put(victim, bytes);
    const report = await verify(repo, [manifest], { readData: true, annotate: false });
    expect(report.ok).toBe(false);
    const named = report.snapshots[0]!.problems.filter((p) => p.path);
    expect(named.map((p) => `${p.snapshot}:${p.source}/${p.path}`)).toContain(`${manifest.id}:app/blobs/random.bin`);
    await expect(restore(repo, manifest, { target: join(dir.path, "restore-bad") })).rejects.toThrow(IntegrityError);
    await expect(restore(repo, manifest, { target: join(dir.path, "restore-bad2") })).rejects.toThrow(/blobs\/random\.bin/);
  });
});

describe("a file with a SQLite header that cannot be a database", () => {
  it("is stored as a plain file with a warning naming it", async () => {
    const dir = await tempDir();
    try {
      const { writeFile, mkdir } = await import("node:fs/promises");
      await mkdir(join(dir.path, "src"));
      // 1000 bytes: not a whole number of pages, so the walk does not even open it as a database.
      await writeFile(join(dir.path, "src", "half.db"), Buffer.concat([Buffer.from("SQLite format 3\0", "latin1"), Buffer.alloc(984, 1)]));
      const repo = await Repository.init(new LocalStore(join(dir.path, "repo")), password, { scryptN: 1024 });
      const result = await snapshot(repo, { sources: [{ kind: "directory", name: "src", path: join(dir.path, "src") }] });
      expect(result.warnings.map((w) => w.path)).toEqual(["half.db"]);
      expect(result.manifest.sources[0]!.databases).toEqual([]);
    } finally {
      await dir.cleanup();
    }
  });
});

describe("a file deleted between the walk and its read", () => {
  it("is left out with a warning naming it, and the snapshot commits the rest", async () => {
    const dir = await tempDir();
    try {
      const { writeFile, mkdir } = await import("node:fs/promises");
      const { rmSync } = await import("node:fs");
      await mkdir(join(dir.path, "src"));
      await writeFile(join(dir.path, "src", "a.txt"), "kept");
      // Over the read-ahead size (1 MiB): listed by the walk, opened only when its turn comes.
      await writeFile(join(dir.path, "src", "z.bin"), Buffer.alloc(2 * 1024 * 1024, 7));
      const repo = await Repository.init(new LocalStore(join(dir.path, "repo")), password, { scryptN: 1024 });
      let deleted = false;
      const result = await snapshot(repo, {
        sources: [{ kind: "directory", name: "src", path: join(dir.path, "src") }],
        onProgress: (p) => {
          if (p.path === "a.txt" && !deleted) {
            deleted = true;
            rmSync(join(dir.path, "src", "z.bin"));
          }
        },
      });
      expect(deleted).toBe(true);
      expect(result.warnings).toEqual([{ path: "z.bin", message: "vanished during the snapshot: not stored" }]);
      expect(result.manifest.stats.files).toBe(1);
      const target = join(dir.path, "out");
      await restore(repo, result.manifest, { target, verify: true });
      expect((await readdir(join(target, "src"))).sort()).toEqual(["a.txt"]);
    } finally {
      await dir.cleanup();
    }
  });
});
