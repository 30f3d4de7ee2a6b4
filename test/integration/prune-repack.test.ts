/**
 * Prune's repack step (src/ops/prune/repack.ts) on its own: with frames sealed on the calling thread (small
 * repacks, the common case) and in the worker pool (large ones), the chunks land in new packs listed by a new
 * index file, each readable and matching its id; a pack that went missing stops the repack with an
 * IntegrityError naming it.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toHex } from "../../src/core/crypto.js";
import { IntegrityError } from "../../src/core/errors.js";
import { decodeFrame } from "../../src/core/pack.js";
import { repackChunks, type RepackChunk } from "../../src/ops/prune/repack.js";
import { snapshot } from "../../src/ops/snapshot/snapshot.js";
import { packKey } from "../../src/repo/layout.js";
import { Repository } from "../../src/repo/repository.js";
import { LocalStore } from "../../src/store/local.js";
import { tempDir } from "../helpers/fixtures.js";

let dir: { path: string; cleanup: () => Promise<void> };
let repo: Repository;

beforeEach(async () => {
  dir = await tempDir();
  const data = join(dir.path, "data");
  await mkdir(data);
  // Text (compressible) and random files, several packs of at most 256 KiB.
  for (let i = 0; i < 6; i++) await writeFile(join(data, `r-${i}`), randomBytes(90 * 1024));
  for (let i = 0; i < 6; i++) await writeFile(join(data, `t-${i}`), `line ${i}\n`.repeat(9000));
  repo = await Repository.init(new LocalStore(join(dir.path, "repo")), { kind: "password", password: "pw" }, { scryptN: 1024, packTarget: 256 * 1024 });
  await snapshot(repo, { sources: [{ kind: "directory", name: "data", path: data }], time: new Date(Date.UTC(2026, 0, 1)) });
});
afterEach(() => dir.cleanup());

/** Every other chunk of the index (so packs are read partly, in several ranges). */
async function someChunks(): Promise<RepackChunk[]> {
  const { index } = await repo.loadIndex();
  const all = [...index.entries()].map((e) => ({ id: toHex(e.id), loc: e }));
  return all.filter((_, i) => i % 2 === 0);
}

describe("repackChunks", () => {
  for (const workers of [false, true]) {
    it(`copies the chunks into new packs listed by a new index file (${workers ? "worker pool" : "this thread"})`, async () => {
      const chunks = await someChunks();
      const oldPacks = new Set(chunks.map((c) => toHex(c.loc.packId)));
      expect(oldPacks.size).toBeGreaterThan(1);
      const filesBefore = new Set(await repo.listIndexFiles());
      const written = await repackChunks(repo, chunks, { workers });
      expect(written).toBeGreaterThan(0);
      const added = (await repo.listIndexFiles()).filter((f) => !filesBefore.has(f));
      expect(added).toHaveLength(1);
      const file = await repo.readIndexFile(added[0]!);
      expect(file.packs).toHaveLength(written);
      const seen = new Set<string>();
      for (const p of file.packs) {
        expect(oldPacks.has(toHex(p.packId))).toBe(false);
        const pack = await repo.store.get(packKey(p.packId));
        for (const e of p.entries) {
          const frame = decodeFrame(repo.keys.encKey, pack.subarray(e.frameOffset, e.frameOffset + e.frameLength));
          const data = frame.subarray(e.innerOffset, e.innerOffset + e.length);
          expect(toHex(repo.chunkId(data))).toBe(toHex(e.id));
          seen.add(toHex(e.id));
        }
      }
      expect([...seen].sort()).toEqual([...new Set(chunks.map((c) => c.id))].sort());
    });
  }

  it("stops with an IntegrityError naming a missing pack", async () => {
    const chunks = await someChunks();
    const victim = toHex(chunks[chunks.length - 1]!.loc.packId);
    await repo.store.delete(packKey(victim));
    const err = await repackChunks(repo, chunks, { workers: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toContain(`pack ${victim} is missing`);
  });
});
