import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockLostError, LockedError } from "../../src/core/errors.js";
import { RepoLock, listLocks, unlock } from "../../src/repo/lock.js";
import { Repository } from "../../src/repo/repository.js";
import { MemoryStore } from "../../src/store/memory.js";
import { tempDir } from "../helpers/fixtures.js";

const secret = { kind: "password", password: "pw" } as const;
const fast = { staleAfterMs: 1000, refreshEveryMs: 100 }; // refreshes 10 times per period: survives a busy machine
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("locks", () => {
  it("lets shared locks coexist and keeps exclusive ones alone", async () => {
    const repo = await Repository.init(new MemoryStore(), secret, { scryptN: 1024 });
    const a = await RepoLock.acquire(repo, "shared", { purpose: "snapshot a" });
    const b = await RepoLock.acquire(repo, "shared", { purpose: "snapshot b" });
    await expect(RepoLock.acquire(repo, "exclusive", { purpose: "prune" })).rejects.toBeInstanceOf(LockedError);
    await a.release();
    await b.release();
    const x = await RepoLock.acquire(repo, "exclusive", { purpose: "prune" });
    await expect(RepoLock.acquire(repo, "shared", { purpose: "snapshot" })).rejects.toThrow(/exclusive lock for prune/);
    await x.release();
    expect(await listLocks(repo)).toEqual([]);
  });

  it("ignores a stale lock of a dead process and unlock removes only stale ones", async () => {
    const repo = await Repository.init(new MemoryStore(), secret, { scryptN: 1024 });
    let clock = Date.now();
    const dead = await RepoLock.acquire(repo, "exclusive", { purpose: "prune", timing: { staleAfterMs: 60_000, refreshEveryMs: 3_600_000 }, now: () => clock });
    void dead; // never released: the process "died"
    // The memory store's LastModified is real time, so age the lock through both clocks: wait past a short timeout.
    const timing = { staleAfterMs: 150, refreshEveryMs: 3_600_000 };
    await sleep(200);
    clock = Date.now();
    const live = await RepoLock.acquire(repo, "shared", { purpose: "snapshot", timing });
    expect((await listLocks(repo, timing)).map((l) => l.stale).sort()).toEqual([false, true]);
    expect(await unlock(repo, { timing })).toHaveLength(1);
    expect(await listLocks(repo, timing)).toHaveLength(1);
    await live.release();
  });

  it("a holder that keeps refreshing is not broken by a contender waiting three stale timeouts", async () => {
    const repo = await Repository.init(new MemoryStore(), secret, { scryptN: 1024 });
    const holder = await RepoLock.acquire(repo, "shared", { purpose: "snapshot", timing: fast });
    const start = Date.now();
    await expect(RepoLock.acquire(repo, "exclusive", { purpose: "prune", timing: fast, waitMs: 3 * fast.staleAfterMs })).rejects.toBeInstanceOf(LockedError);
    expect(Date.now() - start).toBeGreaterThanOrEqual(3 * fast.staleAfterMs - 50);
    await holder.assertFresh();
    await holder.release();
  });

  it("fencing: a holder that could not refresh aborts before commit", async () => {
    const repo = await Repository.init(new MemoryStore(), secret, { scryptN: 1024 });
    const holder = await RepoLock.acquire(repo, "shared", { purpose: "snapshot", timing: { staleAfterMs: 300, refreshEveryMs: 3_600_000 } });
    await sleep(250); // past staleAfter minus the margin (300/4)
    await expect(holder.assertFresh()).rejects.toBeInstanceOf(LockLostError);
    await holder.release();
  });

  it("fencing: a holder whose lock object was removed aborts before commit", async () => {
    const repo = await Repository.init(new MemoryStore(), secret, { scryptN: 1024 });
    const holder = await RepoLock.acquire(repo, "shared", { purpose: "snapshot" });
    await unlock(repo, { force: true });
    await expect(holder.assertFresh()).rejects.toThrow(/removed by another process/);
    await holder.release();
  });
});

describe("index cache", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => (dir = await tempDir()));
  afterAll(() => dir.cleanup());

  it("serves listed index files from the cache, recovers from a damaged copy, and drops unlisted ones", async () => {
    const store = new MemoryStore();
    const repo = await Repository.init(store, secret, { scryptN: 1024 });
    const packId = new Uint8Array(32).fill(7);
    const entry = { id: new Uint8Array(32).fill(1), kind: 0 as const, frameOffset: 0, frameLength: 100, innerOffset: 0, length: 10 };
    const { name } = await repo.writeIndexFile([{ packId, entries: [entry] }]);
    repo.useIndexCache(dir.path);
    expect((await repo.loadIndex()).index.size).toBe(1);
    const cacheDir = join(dir.path, repo.config.id, "index");
    expect(await readdir(cacheDir)).toEqual([name]);
    // Damage the cached copy (same size): it fails authentication and the store's copy is used.
    const size = (await store.get(`index/${name}`)).length;
    await writeFile(join(cacheDir, name), new Uint8Array(size));
    expect((await repo.loadIndex()).index.has(entry.id)).toBe(true);
    // A name the store no longer lists is never used, and is removed from the cache.
    await store.delete(`index/${name}`);
    expect((await repo.loadIndex()).index.size).toBe(0);
    expect(await readdir(cacheDir)).toEqual([]);
  });
});
