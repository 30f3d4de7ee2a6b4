/**
 * A hostile repository (someone who holds the key, or a bug) must never make
 * restore write outside its target: `..` paths, absolute paths, backslashes,
 * symlinks that files or other symlinks would be written through.
 */
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/core/crypto.js";
import { UnsafePathError } from "../../src/core/errors.js";
import { MANIFEST_FORMAT, type ListingEntry, type SnapshotManifest } from "../../src/core/manifest.js";
import { newSnapshotId } from "../../src/core/snapshot-id.js";
import { writeListing } from "../../src/repo/listing.js";
import { PackSink } from "../../src/repo/pack-sink.js";
import { Repository } from "../../src/repo/repository.js";
import { restore } from "../../src/ops/restore/restore.js";
import { LocalStore } from "../../src/store/local.js";
import { tempDir } from "../helpers/fixtures.js";

let dir: { path: string; cleanup: () => Promise<void> };
let repo: Repository;
let outside: string;
let n = 0;

/** Commits a snapshot whose single source has exactly `entries` (file content "pwned"). */
async function hostileSnapshot(entries: Omit<ListingEntry, "u" | "g" | "ct" | "i" | "mt">[], sourceName = "src"): Promise<SnapshotManifest> {
  const { index } = await repo.loadIndex();
  const sink = new PackSink(repo, index);
  const content = new TextEncoder().encode("pwned");
  const id = toHex(await sink.add(content, 0));
  const full: ListingEntry[] = entries.map((e) => ({ u: 0, g: 0, ct: 0, i: 0, mt: Date.now(), ...e, ...(e.t === "f" ? { c: [id], s: content.length } : {}) }));
  const listing = await writeListing(sink, repo.keys.gearSeed, full);
  const { indexFile } = await sink.finish();
  const time = Date.now() + n++ * 1000;
  const manifest: SnapshotManifest = {
    format: MANIFEST_FORMAT, id: newSnapshotId(time), time: new Date(time).toISOString(), timeMs: time, host: "evil", tags: [], toolVersion: "0",
    indexFiles: indexFile ? [indexFile] : [],
    sources: [{ name: sourceName, kind: "directory", origin: "/x", listing, entries: full.length, bytes: 5, startedAt: time, finishedAt: time, databases: [] }],
    stats: { files: 1, dirs: 0, symlinks: 0, bytes: 5, bytesRead: 5, bytesAdded: 0, chunksNew: 0, chunksTotal: 0, packsWritten: 0, durationMs: 0 },
  };
  await repo.saveManifest(manifest);
  return manifest;
}

const file = (p: string) => ({ p, t: "f" as const, m: 0o644, s: 5 });
const dirEntry = (p: string) => ({ p, t: "d" as const, m: 0o755, s: 0 });
const link = (p: string, l: string) => ({ p, t: "l" as const, m: 0o777, s: 0, l });

describe("restore from a hostile repository", () => {
  beforeAll(async () => {
    dir = await tempDir();
    outside = join(dir.path, "outside");
    await mkdir(outside);
    repo = await Repository.init(new LocalStore(join(dir.path, "repo")), { kind: "password", password: "x" }, { scryptN: 1024 });
  });
  afterAll(() => dir.cleanup());

  const cases: [string, () => Promise<SnapshotManifest>][] = [
    ["a ../ path", () => hostileSnapshot([dirEntry(""), file("../../outside/pwned")])],
    ["an absolute path", () => hostileSnapshot([dirEntry(""), file(`${"/"}${"tmp/restorable-pwned"}`)])],
    ["a backslash path", () => hostileSnapshot([dirEntry(""), file("..\\..\\outside\\pwned")])],
    ["a .. source name", () => hostileSnapshot([dirEntry(""), file("pwned")], "..")],
    ["a duplicate path", () => hostileSnapshot([dirEntry(""), link("x", "/etc"), file("x")])],
  ];
  for (const [name, make] of cases) {
    it(`refuses ${name} before writing anything`, async () => {
      const manifest = await make();
      const target = join(dir.path, `t-${name.replace(/\W+/g, "-")}`);
      await expect(restore(repo, manifest, { target })).rejects.toBeInstanceOf(UnsafePathError);
      expect(await readdir(outside)).toEqual([]);
      await expect(readdir(target)).rejects.toThrow(/ENOENT/); // refused before the target was even created
    });
  }

  it("never writes a file through a symlink that points out of the target", async () => {
    const manifest = await hostileSnapshot([dirEntry(""), link("evil", outside), file("evil/pwned")]);
    const target = join(dir.path, "t-symlink-file");
    await expect(restore(repo, manifest, { target })).rejects.toThrow();
    expect(await readdir(outside)).toEqual([]);
  });

  it("never creates a symlink inside a symlinked folder", async () => {
    const manifest = await hostileSnapshot([dirEntry(""), link("evil", outside), link("evil/inner", "/etc/passwd")]);
    const target = join(dir.path, "t-symlink-chain");
    await expect(restore(repo, manifest, { target })).rejects.toBeInstanceOf(UnsafePathError);
    expect(await readdir(outside)).toEqual([]);
  });

  it("still restores a symlink that points outside as a symlink (not followed)", async () => {
    const manifest = await hostileSnapshot([dirEntry(""), link("etc-link", "/etc"), file("ok")]);
    const target = join(dir.path, "t-plain-link");
    const result = await restore(repo, manifest, { target });
    expect(result.symlinks).toBe(1);
    expect((await readdir(join(target, "src"))).sort()).toEqual(["etc-link", "ok"]);
  });
});
