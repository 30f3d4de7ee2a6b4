/**
 * Prune on a real local folder: retention with reasons, garbage collection
 * and repacking, and the named interleavings of snapshot and prune that lost
 * data in restic, Kopia and Borg, forced through the fault-injecting store.
 * After each: verify --read-data and a restore of every kept snapshot to its
 * manifest hashes.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, IntegrityError, LockLostError, LockedError } from "../../src/core/errors.js";
import { addAnnotation } from "../../src/repo/annotations.js";
import { Repository } from "../../src/repo/repository.js";
import { prune } from "../../src/ops/prune/prune.js";
import { restore } from "../../src/ops/restore/restore.js";
import { snapshot } from "../../src/ops/snapshot/snapshot.js";
import { verify } from "../../src/ops/verify/verify.js";
import { FaultyStore } from "../../src/store/faulty.js";
import { LocalStore } from "../../src/store/local.js";
import { tempDir } from "../helpers/fixtures.js";

const secret = { kind: "password", password: "pw" } as const;
const short = { staleAfterMs: 400, refreshEveryMs: 3_600_000 }; // never refreshes: goes stale 400 ms after acquiring
const alive = { staleAfterMs: 400, refreshEveryMs: 50 }; // same judgement of others, but keeps itself fresh on a busy machine
let dir: { path: string; cleanup: () => Promise<void> };
let store: FaultyStore;
let repo: Repository;
let data: string;
let counter = 0;

/** Writes `n` files of 200 KiB random data, named by `prefix`. */
async function files(prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await writeFile(join(data, `${prefix}-${i}`), randomBytes(200 * 1024));
}

async function snap(extra: Parameters<typeof snapshot>[1] extends infer O ? Partial<O> : never = {}) {
  counter++;
  return snapshot(repo, { sources: [{ kind: "directory", name: "data", path: data }], time: new Date(Date.UTC(2026, 0, counter)), ...extra });
}

/** Every snapshot verifies byte for byte and restores to its manifest hashes. */
async function expectIntact(): Promise<void> {
  const manifests = await repo.listSnapshots();
  const report = await verify(repo, manifests, { readData: true, annotate: false });
  expect(report.snapshots.flatMap((s) => s.problems)).toEqual([]);
  for (const m of manifests) {
    const r = await restore(repo, m, { target: join(dir.path, "restores", `${m.id}-${counter++}`), verify: true });
    expect(r.verified).toBe(true);
  }
}

/** A promise and its resolver: the test's "pause" and "resume". */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

beforeEach(async () => {
  dir = await tempDir();
  data = join(dir.path, "data");
  await mkdir(data);
  store = new FaultyStore(new LocalStore(join(dir.path, "repo")));
  repo = await Repository.init(store, secret, { scryptN: 1024, packTarget: 512 * 1024 });
});
afterEach(() => dir.cleanup());

describe("prune", () => {
  it("keeps what the policy says with reasons, removes the rest, and frees the space", async () => {
    await files("a", 3);
    const s1 = await snap();
    await files("b", 3);
    const s2 = await snap();
    await files("a", 3); // rewrites a-*: the old copies become garbage once s1 and s2 are forgotten
    const s3 = await snap();
    const before = (await store.list("data/")).reduce((n, o) => n + o.size, 0);
    const dry = await prune(repo, { policy: { "keep-last": 1 }, dryRun: true, graceMs: 0 });
    expect(dry.executed).toBe(false);
    expect(dry.plan.forget.map((d) => [d.id, d.reasons])).toEqual([[s2.manifest.id, ["matched no rule"]], [s1.manifest.id, ["matched no rule"]]]);
    expect(dry.plan.keep.map((d) => d.id)).toEqual([s3.manifest.id]);
    expect(dry.plan.keep[0]!.reasons).toContain("last #1");
    expect(await repo.listSnapshotIds()).toHaveLength(3); // a dry run changes nothing
    const result = await prune(repo, { policy: { "keep-last": 1 }, graceMs: 0 });
    expect(await repo.listSnapshotIds()).toEqual([s3.manifest.id]);
    const after = (await store.list("data/")).reduce((n, o) => n + o.size, 0);
    expect(result.packsDeleted).toBeGreaterThan(0);
    expect(after).toBeLessThan(before - 500 * 1024); // three 200 KiB random files gone
    await expectIntact();
  });

  it("never removes protected snapshots: pinned, last passed drill, newest", async () => {
    await files("a", 1);
    const s1 = await snap();
    await files("b", 1);
    const s2 = await snap();
    await files("c", 1);
    await snap();
    await addAnnotation(repo, s1.manifest.id, { type: "pin", at: new Date().toISOString() });
    await addAnnotation(repo, s2.manifest.id, { type: "drill", at: new Date().toISOString(), ok: true });
    await expect(prune(repo, { policy: {}, graceMs: 0 })).rejects.toBeInstanceOf(ConfigError); // keeps nothing
    const r = await prune(repo, { policy: {}, allowEmpty: true, graceMs: 0 });
    const reasons = Object.fromEntries(r.plan.keep.map((d) => [d.id, d.reasons]));
    expect(reasons[s1.manifest.id]).toContain("pinned");
    expect(reasons[s2.manifest.id]).toContain("last passed drill");
    expect(r.plan.forget).toEqual([]);
    await expect(prune(repo, { forget: [s1.manifest.id] })).rejects.toThrow(/protected \(pinned\)/);
    await prune(repo, { forget: [s1.manifest.id], force: true, graceMs: 0 });
    expect(await repo.listSnapshotIds()).not.toContain(s1.manifest.id);
    await expectIntact();
  });

  it("repacks mostly-unused packs and keeps every used chunk", async () => {
    // One pack holds a kept file and many forgotten ones: it must be repacked, not deleted.
    await writeFile(join(data, "keep"), randomBytes(40 * 1024));
    for (let i = 0; i < 8; i++) await writeFile(join(data, `tmp-${i}`), randomBytes(40 * 1024));
    await snap();
    for (let i = 0; i < 8; i++) await writeFile(join(data, `tmp-${i}`), "");
    const s2 = await snap();
    const r = await prune(repo, { policy: { "keep-last": 1 }, graceMs: 0 });
    expect(r.plan.keep.map((d) => d.id)).toEqual([s2.manifest.id]);
    expect(r.plan.repackPacks.length).toBeGreaterThan(0);
    expect(r.packsWritten).toBeGreaterThan(0);
    await expectIntact();
  });

  it("refuses to delete anything when a kept snapshot references a missing pack", async () => {
    await files("a", 2);
    await snap();
    const victim = (await store.list("data/"))[0]!.key;
    await store.delete(victim);
    const before = (await store.list("")).map((o) => o.key);
    const err = await prune(repo, { graceMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(String((err as Error).message)).toMatch(/missing.*restorable verify.*repair index/s);
    expect((await store.list("")).map((o) => o.key).filter((k) => !k.startsWith("locks/"))).toEqual(before.filter((k) => !k.startsWith("locks/")));
  });
});

describe("interleavings of snapshot and prune", () => {
  it("two snapshots: one commits while the other loads its index; both succeed and verify", async () => {
    await files("a", 2);
    await snap();
    const paused = gate();
    const reached = gate();
    let armed = true;
    store.onOperation = async (op) => {
      if (armed && op.name === "get" && op.key.startsWith("index/")) {
        armed = false;
        reached.open();
        await paused.wait;
      }
    };
    const first = snap(); // pauses while loading the index
    await reached.wait;
    await files("b", 1);
    const second = await snap(); // commits meanwhile (shared locks do not conflict)
    paused.open();
    const done = await first;
    // The paused one must not take the newcomer (whose blobs it has not indexed) as its parent.
    expect(done.manifest.parent).not.toBe(second.manifest.id);
    await expectIntact();
  });

  it("a snapshot paused before its manifest holds off prune; both finish intact", async () => {
    await files("a", 3);
    await snap();
    await files("b", 3);
    const paused = gate();
    const reached = gate();
    store.onOperation = async (op) => {
      if (op.name === "put" && op.key.startsWith("index/")) {
        reached.open();
        await paused.wait;
      }
    };
    const running = snap();
    await reached.wait;
    store.onOperation = undefined;
    await expect(prune(repo, { policy: { "keep-last": 1 }, graceMs: 0 })).rejects.toBeInstanceOf(LockedError);
    paused.open();
    await running;
    await prune(repo, { policy: { "keep-last": 1 }, graceMs: 0 });
    expect(await repo.listSnapshotIds()).toHaveLength(1);
    await expectIntact();
  });

  it("a writer whose lock expires while paused aborts before its manifest; prune's deletions cannot hurt it", async () => {
    await files("a", 3);
    const s1 = await snap();
    await files("b", 1); // s2 dedups a-* against s1's packs
    const paused = gate();
    const reached = gate();
    store.onOperation = async (op) => {
      if (op.name === "put" && op.key.startsWith("index/")) {
        reached.open();
        await paused.wait;
      }
    };
    const running = snap({ lockTiming: short });
    await reached.wait;
    store.onOperation = undefined;
    await new Promise((r) => setTimeout(r, 500)); // the writer's lock is now stale
    // Prune sees only a stale lock: it forgets s1 and deletes the packs s2 was about to reference.
    const pruned = await prune(repo, { forget: [s1.manifest.id], force: true, graceMs: 0, lockTiming: alive });
    expect(pruned.packsDeleted).toBeGreaterThan(0);
    paused.open();
    await expect(running).rejects.toBeInstanceOf(LockLostError);
    expect(await repo.listSnapshotIds()).toEqual([]); // nothing half-committed
    await expectIntact();
  });

  it("a prune paused between plan and delete whose lock went stale aborts, and the snapshot that ran meanwhile is intact", async () => {
    await files("a", 3);
    const s1 = await snap();
    await files("b", 1);
    await snap();
    const paused = gate();
    const reached = gate();
    const pruning = prune(repo, {
      forget: [s1.manifest.id], force: true, graceMs: 0, lockTiming: short,
      onStep: async (step) => {
        if (step === "remove-index") {
          reached.open();
          await paused.wait;
        }
      },
    });
    await reached.wait;
    await new Promise((r) => setTimeout(r, 500)); // prune's lock is stale: a snapshot may run
    await files("c", 1);
    // Refreshing often, so it stays fresh itself while judging prune's lock stale after 400 ms.
    const s3 = await snap({ lockTiming: alive }); // dedups a-* against packs prune planned to delete
    paused.open();
    await expect(pruning).rejects.toBeInstanceOf(LockLostError);
    expect(await repo.listSnapshotIds()).toContain(s3.manifest.id);
    await expectIntact();
    // A later prune finishes the job.
    await prune(repo, { graceMs: 0 });
    await expectIntact();
  });
});
